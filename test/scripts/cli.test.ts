import * as assert from "node:assert/strict";
import { numberFlag, parseFlags, UsageError, usageMessage } from "../../scripts/cli";

describe("scripts/cli.ts (the argument parser of every CLI)", () => {
  const spec = { stack: { type: "string" }, tag: { type: "string", multiple: true }, json: { type: "boolean" } } as const;

  it("reads --name value, --name=value, repeatable flags, booleans and -h/--help", () => {
    assert.deepEqual(parseFlags(["--stack", "dev", "--tag=a", "--tag", "b", "--json"], spec), { help: false, stack: "dev", tag: ["a", "b"], json: true });
    assert.deepEqual(parseFlags([], spec), { help: false });
    assert.equal(parseFlags(["-h"], spec).help, true);
    assert.equal(parseFlags(["--help"], spec).help, true);
  });

  it("the same errors everywhere: UsageError (exit code 2) naming the flag", () => {
    const cases: Array<[string[], RegExp]> = [
      [["--stak", "dev"], /^unknown argument "--stak"; valid: --help, --stack, --tag, --json$/],
      [["--stack=dev", "extra"], /^unknown argument "extra"; valid: /],
      [["-x"], /^unknown argument "-x"; valid: /],
      [["--stack"], /^--stack needs a value$/],
      [["--stack="], /^--stack needs a value$/],
      [["--stack", "--json"], /^--stack needs a value$/],
      [["--json=yes"], /^--json takes no value$/],
      [["--stack", "a", "--stack", "b"], /^--stack given 2 times$/],
    ];
    for (const [argv, message] of cases) {
      assert.throws(() => parseFlags(argv, spec), (e: unknown) => e instanceof UsageError && e.exitCode === 2 && message.test(e.message), argv.join(" "));
    }
  });

  it("errors can be the caller's own error type", () => {
    class Mine extends Error {}
    assert.throws(() => parseFlags(["--nope"], spec, (m) => new Mine(m)), (e: unknown) => e instanceof Mine && /unknown argument "--nope"/.test(e.message));
  });

  it("numberFlag and usageMessage", () => {
    assert.equal(numberFlag("--n", "3", 1), 3);
    assert.throws(() => numberFlag("--n", "0", 1), /--n needs a number >= 1 \(got 0\)/);
    assert.throws(() => numberFlag("--r", "2", 0, 1), /--r needs a number from 0 to 1 \(got 2\)/);
    assert.throws(() => numberFlag("--r", " ", 0, 1), UsageError);
    assert.equal(usageMessage("plan", "boom", "usage: x"), "plan: boom\n\nusage: x");
  });
});
