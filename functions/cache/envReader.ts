/**
 * Reading environment variables the same way everywhere (cache, platform, apps): trimmed text, an
 * integer in a range, on/off. Every error names the variable and what is allowed. Pure.
 */
export interface EnvReader {
  /** The trimmed value, or undefined when unset or blank. */
  text(name: string): string | undefined;
  /** A whole number from `min` to `max`; `fallback` when unset. */
  int(name: string, fallback: number, min: number, max: number): number;
  /** on/true/1 or off/false/0 (any case); `fallback` when unset. */
  onOff(name: string, fallback: boolean): boolean;
}

export function envReader(env: Readonly<Record<string, string | undefined>>): EnvReader {
  const text = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v.trim() === "" ? undefined : v.trim();
  };
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = text(name);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!/^[0-9]+$/.test(raw) || n < min || n > max) throw new Error(`environment variable ${name}=${raw} must be an integer from ${min} to ${max}`);
    return n;
  };
  const onOff = (name: string, fallback: boolean): boolean => {
    const raw = text(name);
    if (raw === undefined) return fallback;
    const v = raw.toLowerCase();
    if (v === "on" || v === "true" || v === "1") return true;
    if (v === "off" || v === "false" || v === "0") return false;
    throw new Error(`environment variable ${name}=${raw} must be on or off`);
  };
  return { text, int, onOff };
}
