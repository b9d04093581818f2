import * as fs from "node:fs";
import * as path from "node:path";

/**
 * Packages the Lambda nodejs22.x runtime already provides (AWS SDK v3). CallbackFunction otherwise
 * copies every runtime `dependency` of package.json into each archive.
 */
export function runtimeProvidedPackages(packageJsonPath = path.join(__dirname, "..", "package.json")): string[] {
  const pkg = JSON.parse(fs.readFileSync(packageJsonPath, "utf8")) as { dependencies?: Record<string, string> };
  return Object.keys(pkg.dependencies ?? {}).filter((name) => name.startsWith("@aws-sdk/"));
}
