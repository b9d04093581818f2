import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";

/** A Lambda code archive as Pulumi hands it to the (mocked) aws:lambda/function:Function. */
export interface ExtractedLambda {
  /** Temp directory laid out as the Lambda runtime would see /var/task. */
  dir: string;
  /** Entries of the archive: "__index.js" and "node_modules/<pkg>" folders. */
  entries: string[];
  /** The serialized source of __index.js. */
  source: string;
  /** Loads __index.js in this process (fresh module instance each call = a cold start). */
  load<H = unknown>(handlerName?: string): H;
  remove(): void;
}

interface MaybeArchive {
  assets?: Promise<Record<string, unknown>> | Record<string, unknown>;
}

/**
 * Lay out the `code` input of a mocked aws:lambda/function:Function in a temp dir, exactly as the
 * archive Pulumi would upload: `__index.js` plus every `node_modules/<pkg>` FileArchive it lists.
 */
export async function extractLambdaArchive(code: unknown): Promise<ExtractedLambda> {
  const archive = (await code) as MaybeArchive;
  if (!pulumi.asset.AssetArchive.isInstance(archive)) {
    throw new Error("code input is not an AssetArchive");
  }
  const assets = await (archive as unknown as MaybeArchive).assets;
  if (!assets) throw new Error("AssetArchive without assets");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lambda-task-"));
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
      // Copy (not symlink): the archive holds real files; a symlink would let Node resolve
      // packages from this repository's node_modules and hide a missing dependency.
      fs.cpSync(from, target, { recursive: true, dereference: true });
    } else {
      throw new Error(`unsupported archive entry ${name}`);
    }
  }
  if (!source) throw new Error("archive has no __index.js");
  const entries = Object.keys(assets).sort();
  return {
    dir,
    entries,
    source,
    load<H>(handlerName = "handler"): H {
      const file = path.join(dir, "__index.js");
      for (const key of Object.keys(require.cache)) if (key.startsWith(dir)) delete require.cache[key];
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const mod = require(file) as Record<string, unknown>;
      const handler = mod[handlerName];
      if (typeof handler !== "function") throw new Error(`__index.js exports no function ${handlerName}`);
      return handler as H;
    },
    remove() {
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
