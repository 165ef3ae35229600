/**
 * When a schedule acts, as people write it: a 5-field cron expression, an interval such as
 * `2s` or `1h30m`, a time zone. Pure parsing, so a bad spec is a clear error before Temporal is
 * called and nothing is created.
 * @module
 */

/** Why a 5-field cron expression is wrong, or undefined when it is right. */
export function cronProblem(expression: string): string | undefined {
  const fields = expandCronMacro(expression.trim()).split(/\s+/);
  if (fields.length !== 5) {
    return `must have 5 fields (minute hour day-of-month month day-of-week) or be one of ${Object.keys(CRON_MACROS).join(', ')}; got ${fields.length} field${fields.length === 1 ? '' : 's'}`;
  }
  for (const [i, field] of fields.entries()) {
    const problem = cronFieldProblem(field!, CRON_FIELDS[i]!);
    if (problem) return `${CRON_FIELDS[i]!.name} field "${field}": ${problem}`;
  }
  return undefined;
}

/** `@daily` → `0 0 * * *`; anything else as it is. */
export function expandCronMacro(expression: string): string {
  return CRON_MACROS[expression.toLowerCase()] ?? expression;
}

const CRON_MACROS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

interface CronField {
  name: string;
  min: number;
  max: number;
  /** Names allowed for values, from `min` upwards (JAN = 1, SUN = 0). */
  names?: readonly string[];
}

const CRON_FIELDS: readonly CronField[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day-of-month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'] },
  // 7 is Sunday too, as in most crons
  { name: 'day-of-week', min: 0, max: 7, names: ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] },
];

function cronValue(text: string, field: CronField): number | undefined {
  const named = field.names?.indexOf(text.toUpperCase()) ?? -1;
  if (named !== -1) return field.min + named;
  return /^\d+$/.test(text) ? Number(text) : undefined;
}

/** One field: a comma list of `*`, `N`, `N-M`, each optionally `/STEP`. */
function cronFieldProblem(field: string, spec: CronField): string | undefined {
  const range = `${spec.min}-${spec.max}${spec.names ? ` or ${spec.names[0]}-${spec.names.at(-1)}` : ''}`;
  for (const part of field.split(',')) {
    const match = /^([^/]+)(?:\/(.+))?$/.exec(part);
    if (!match) return `"${part}" is not a value, a range or a step`;
    const [, base, step] = match;
    if (step !== undefined && !(/^\d+$/.test(step) && Number(step) >= 1 && Number(step) <= spec.max)) {
      return `step "${step}" must be a whole number from 1 to ${spec.max}`;
    }
    if (base === '*') continue;
    const [from, to, extra] = base!.split('-');
    if (extra !== undefined) return `"${base}" is not a range N-M`;
    const a = cronValue(from!, spec);
    const b = to === undefined ? a : cronValue(to, spec);
    if (a === undefined || b === undefined) return `"${base}" must be * or values in ${range}`;
    if (a < spec.min || a > spec.max || b < spec.min || b > spec.max) return `${base} is out of range: must be ${range}`;
    if (a > b) return `range ${base} runs backwards`;
  }
  return undefined;
}

const DURATION_UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `2s`, `90s`, `5m`, `1h30m`, `1d` → milliseconds; undefined when it is not such a duration. */
export function parseDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (!/^(\d+(ms|s|m|h|d))+$/.test(trimmed)) return undefined;
  let ms = 0;
  for (const [, n, unit] of trimmed.matchAll(/(\d+)(ms|s|m|h|d)/g)) ms += Number(n) * DURATION_UNITS_MS[unit!]!;
  return ms;
}

/** Milliseconds as {@link parseDuration} reads them: 90000 → `1m30s`. */
export function formatDuration(ms: number): string {
  let rest = ms;
  let out = '';
  for (const unit of ['d', 'h', 'm', 's', 'ms']) {
    const size = DURATION_UNITS_MS[unit]!;
    if (rest >= size) {
      out += `${Math.floor(rest / size)}${unit}`;
      rest %= size;
    }
  }
  return out === '' ? '0s' : out;
}

/** An IANA time zone this runtime knows (`Europe/Paris`, `UTC`). */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
