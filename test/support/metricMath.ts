/**
 * A small evaluator of CloudWatch metric-math expressions for one period, as the alarms use them:
 * numbers, metric ids, + - * /, comparisons, IF(cond, a, b) and FILL(id, value). A metric id without a
 * value is "no data" (CloudWatch reports many counts only when non-zero); no data stays no data through
 * arithmetic and IF unless FILL replaces it. Enough to ask "does this alarm see the fault?".
 */
export type MetricValues = Record<string, number | undefined>;

const NO_DATA = undefined;
type Value = number | undefined;

export function evaluateMetricMath(expression: string, values: MetricValues): Value {
  const tokens = expression.match(/\d+(?:\.\d+)?|[A-Za-z_][A-Za-z0-9_]*|>=|<=|==|[-+*/(),<>]/g) ?? [];
  let i = 0;
  const peek = (): string | undefined => tokens[i];
  const take = (expected?: string): string => {
    const t = tokens[i++];
    if (t === undefined || (expected !== undefined && t !== expected)) throw new Error(`metric math: expected ${expected ?? "a token"} at ${i - 1} in ${expression}`);
    return t;
  };
  const both = (a: Value, b: Value, f: (x: number, y: number) => number): Value => (a === NO_DATA || b === NO_DATA ? NO_DATA : f(a, b));
  const primary = (): Value => {
    const t = take();
    if (t === "(") {
      const v = comparison();
      take(")");
      return v;
    }
    if (/^\d/.test(t)) return Number(t);
    if (t === "FILL") {
      take("(");
      const id = take();
      take(",");
      const fill = comparison();
      take(")");
      return values[id] ?? fill;
    }
    if (t === "IF") {
      take("(");
      const cond = comparison();
      take(",");
      const a = comparison();
      take(",");
      const b = comparison();
      take(")");
      return cond === NO_DATA ? NO_DATA : cond !== 0 ? a : b;
    }
    if (!(t in values)) throw new Error(`metric math: unknown id ${t} in ${expression}`);
    return values[t];
  };
  /** A left-associative level of binary operators over `operand`: `a op b op c`. */
  const level = (operand: () => Value, ops: Record<string, (x: number, y: number) => number>) => (): Value => {
    let v = operand();
    for (let op = peek(); op !== undefined && Object.hasOwn(ops, op); op = peek()) {
      take();
      v = both(v, operand(), ops[op]);
    }
    return v;
  };
  const product = level(primary, { "*": (x, y) => x * y, "/": (x, y) => x / y });
  const sum = level(product, { "+": (x, y) => x + y, "-": (x, y) => x - y });
  const comparison = (): Value => {
    const v = sum();
    const op = peek();
    if (op === ">=" || op === "<=" || op === ">" || op === "<" || op === "==") {
      take();
      const r = sum();
      return both(v, r, (x, y) => Number(op === ">=" ? x >= y : op === "<=" ? x <= y : op === ">" ? x > y : op === "<" ? x < y : x === y));
    }
    return v;
  };
  const result = comparison();
  if (i !== tokens.length) throw new Error(`metric math: unexpected ${tokens[i]} in ${expression}`);
  return result;
}

/** Whether a metric-math alarm (its resource inputs) breaches in this period (no data: notBreaching). */
export function alarmBreaches(inputs: Readonly<Record<string, unknown>>, values: MetricValues): boolean {
  const alarm = inputs as { comparisonOperator: string; threshold: number; metricQueries?: { returnData?: boolean; expression?: string }[] };
  const expression = alarm.metricQueries?.find((q) => q.returnData)?.expression;
  if (!expression) throw new Error("the alarm returns no expression");
  const v = evaluateMetricMath(expression, values);
  if (v === NO_DATA) return false;
  switch (alarm.comparisonOperator) {
    case "GreaterThanThreshold": return v > alarm.threshold;
    case "GreaterThanOrEqualToThreshold": return v >= alarm.threshold;
    case "LessThanThreshold": return v < alarm.threshold;
    default: throw new Error(`unsupported comparison ${alarm.comparisonOperator}`);
  }
}
