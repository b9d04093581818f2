import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { chooseZones, type ZoneChoice as ChosenZones } from "../awsAvailability";
import { checkZoneRequirements, type NetworkContext } from "./settings";

/** The zones chosen for the subnets, in subnet order: names (as this account names them) and zone IDs. */
export type ZoneChoice = pulumi.Output<ChosenZones>;

/**
 * Chooses `azCount` zones by zone ID: the pinned ones, else the first that meet the requirements.
 * Real Availability Zones only: an account's enabled Local and Wavelength Zones are listed too (and
 * sort first by name). No `state` filter: an AZ that is impaired today must not shift the others.
 */
export function chooseNetworkZones({ name, args, settings, child, region }: NetworkContext): ZoneChoice {
  const zones = aws.getAvailabilityZonesOutput({
    filters: [
      { name: "zone-type", values: ["availability-zone"] },
      { name: "opt-in-status", values: ["opt-in-not-required"] },
    ],
  }, child);
  const requirementsInput = args.zoneRequirements ?? ["lambda-vpc"];
  return pulumi.all([region, zones.names, zones.zoneIds, pulumi.output(args.availabilityZoneIds ?? []), pulumi.output(requirementsInput)])
    .apply(([r, names, ids, pinned, requirements]) => {
      checkZoneRequirements(name, requirements);
      try {
        return chooseZones({
          region: r,
          zones: ids.map((zoneId, i) => ({ zoneId, name: names[i] })),
          count: settings.azCount,
          pinned,
          requirements,
        });
      } catch (e) {
        throw new Error(`MultiAzNetwork ${name}: availabilityZoneIds: ${(e as Error).message}`, { cause: e });
      }
    });
}
