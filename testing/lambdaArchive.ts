import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";

/** A Lambda code archive, as Pulumi would upload it, laid out in a directory. */
export interface LambdaArchive {
  /** The directory, laid out as the Lambda runtime sees /var/task. */
  dir: string;
  /** Top-level entries: "__index.js" and "node_modules/<package>" folders. */
  entries: string[];
  /** The serialized source of __index.js (what `aws.lambda.CallbackFunction` produced). */
  source: string;
  /**
   * Loads __index.js in this process and returns its exported handler. Each call loads it afresh (a
   * cold start); its requires resolve inside `dir` first (the archive's own node_modules).
   */
  load<H = (event: unknown, context?: unknown) => Promise<unknown>>(handlerName?: string): H;
  /** Deletes the directory. */
  remove(): void;
}

interface MaybeArchive {
  assets?: Promise<Record<string, unknown>> | Record<string, unknown>;
}

/**
 * Lays out the `code` input of a mocked `aws:lambda/function:Function` (an AssetArchive of
 * `__index.js` and `node_modules/<package>` folders) in a new temp directory (or `into`), exactly as
 * the archive Pulumi would upload: files are copied, never linked, so a package missing from the
 * archive fails here as it would in Lambda.
 *
 *     const fn = run.one("aws:lambda/function:Function", "-api");
 *     const archive = await extractLambdaArchive(fn.inputs.code);
 *     const handler = archive.load();
 */
export async function extractLambdaArchive(code: unknown, into?: string): Promise<LambdaArchive> {
  const archive = (await code) as MaybeArchive;
  if (!pulumi.asset.AssetArchive.isInstance(archive)) throw new Error("extractLambdaArchive: the code input is not an AssetArchive (is it the `code` input of an aws:lambda/function:Function from this run?)");
  const assets = await archive.assets;
  if (!assets) throw new Error("extractLambdaArchive: AssetArchive without assets");
  const dir = into ?? fs.mkdtempSync(path.join(os.tmpdir(), "lambda-task-"));
  fs.mkdirSync(dir, { recursive: true });
  let source = "";
  for (const [name, entry] of Object.entries(assets)) {
    const target = path.join(dir, name);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    if (pulumi.asset.StringAsset.isInstance(entry)) {
      const text = await (entry as unknown as { text: Promise<string> }).text;
      fs.writeFileSync(target, text);
      if (name === "__index.js") source = text;
    } else if (pulumi.asset.FileArchive.isInstance(entry) || pulumi.asset.FileAsset.isInstance(entry)) {
      const from = await (entry as unknown as { path: Promise<string> }).path;
      fs.cpSync(from, target, { recursive: true, dereference: true });
    } else {
      throw new Error(`extractLambdaArchive: unsupported archive entry ${name}`);
    }
  }
  if (!source) throw new Error("extractLambdaArchive: the archive has no __index.js");
  return {
    dir,
    entries: Object.keys(assets).sort(),
    source,
    load<H>(handlerName = "handler"): H {
      for (const key of Object.keys(require.cache)) if (key.startsWith(`${dir}${path.sep}`)) delete require.cache[key];
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- loads the built bundle afresh (require.cache cleared above), as Lambda would
      const mod = require(path.join(dir, "__index.js")) as Record<string, unknown>;
      const handler = mod[handlerName];
      if (typeof handler !== "function") throw new Error(`__index.js exports no function ${handlerName}`);
      return handler as H;
    },
    remove() {
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
