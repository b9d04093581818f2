/**
 * Fills README.md's generated sections from docs/*.md: every block
 * `<!-- BEGIN docs/x.md -->` ... `<!-- END docs/x.md -->` gets the current text of docs/x.md.
 * Run: npm run readme   (`--check` exits 1 when README.md is out of date).
 */
import * as fs from "node:fs";
import * as path from "node:path";

const root = path.resolve(__dirname, "..");
const readmePath = path.join(root, "README.md");
const readme = fs.readFileSync(readmePath, "utf8");
const updated = readme.replace(
  /<!-- BEGIN (docs\/[\w.-]+\.md) -->[\s\S]*?<!-- END \1 -->/g,
  (match: string, file: string) => {
    if (!fs.existsSync(path.join(root, file))) {
      console.error(`warning: ${file} does not exist; its README block is left as it is`);
      return match;
    }
    const text = fs.readFileSync(path.join(root, file), "utf8").trim();
    return `<!-- BEGIN ${file} -->\n${text}\n<!-- END ${file} -->`;
  },
);
if (process.argv.includes("--check")) {
  if (updated !== readme) {
    console.error("README.md is out of date with docs/: run npm run readme");
    process.exit(1);
  }
  console.log("README.md is up to date");
} else {
  fs.writeFileSync(readmePath, updated);
  console.log("README.md updated from docs/");
}
