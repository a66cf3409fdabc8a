/**
 * The settings schema checked once over the merged sources. Environment and .env values are
 * text, so each value is first read as its setting's type, as env-schema's AJV read it before
 * (`true`/`false` for a switch, a number for a number, text for text); zod then checks every
 * setting in one pass, and each problem is said in the words the gateway has always used
 * (`must be an integer`, `must be >= 10`, `must be one of …`).
 */
import type { z } from 'zod';

type Kind = 'boolean' | 'number' | 'integer' | 'string' | 'other';

export interface SettingProblem {
  key: string;
  message: string;
}

export type SettingsCheck<Output> = { success: true; data: Output } | { success: false; problems: SettingProblem[] };

/** Schema wrappers whose inner type says what a value must be. */
const WRAPPERS = new Set(['default', 'prefault', 'optional', 'nullable', 'readonly', 'catch']);

export function checkSettings<Schema extends z.ZodObject>(schema: Schema, values: Record<string, unknown>): SettingsCheck<z.output<Schema>> {
  const kinds = new Map<string, Kind>();
  const typed: Record<string, unknown> = {};
  for (const [key, setting] of Object.entries(schema.shape)) {
    const kind = kindOf(setting as z.ZodType);
    kinds.set(key, kind);
    if (values[key] !== undefined) typed[key] = readAs(kind, values[key]);
  }
  const parsed = schema.safeParse(typed);
  if (parsed.success) return { success: true, data: parsed.data };
  const problems = parsed.error.issues.map((issue) => {
    const key = issue.path.join('.');
    return { key, message: describe(issue, kinds.get(key) ?? 'other') };
  });
  return { success: false, problems };
}

function kindOf(setting: z.ZodType): Kind {
  let current = setting._zod;
  for (;;) {
    const def = current.def as { type: string; innerType?: z.ZodType; in?: z.ZodType };
    if (WRAPPERS.has(def.type) && def.innerType !== undefined) current = def.innerType._zod;
    else if (def.type === 'pipe' && def.in !== undefined) current = def.in._zod;
    else break;
  }
  switch (current.def.type) {
    case 'boolean':
      return 'boolean';
    case 'number':
      return isInteger(current.def.checks) ? 'integer' : 'number';
    case 'string':
      return 'string';
    default:
      return 'other';
  }
}

/** Whether a number schema's checks include `.int()` (a `number_format` check of an integer format). */
function isInteger(checks: readonly z.core.$ZodCheck[] | undefined): boolean {
  return (checks ?? []).some((check) => {
    const def = check._zod.def as { check: string; format?: string };
    return def.check === 'number_format' && def.format !== undefined && def.format.includes('int');
  });
}

/** A value as its setting's type; one that cannot be read so is left for zod to refuse. */
function readAs(kind: Kind, value: unknown): unknown {
  switch (kind) {
    case 'boolean':
      if (value === 'true' || value === 1) return true;
      if (value === 'false' || value === 0) return false;
      return value;
    case 'number':
    case 'integer':
      return typeof value === 'string' ? Number(value) : value;
    case 'string':
      return typeof value === 'number' || typeof value === 'boolean' ? String(value) : value;
    default:
      return value;
  }
}

const TYPE_NAMES: Record<string, string> = { boolean: 'a boolean', string: 'a string', number: 'a number', int: 'an integer' };

function describe(issue: z.core.$ZodIssue, kind: Kind): string {
  switch (issue.code) {
    case 'invalid_type':
      if (kind === 'integer') return 'must be an integer';
      return `must be ${TYPE_NAMES[issue.expected] ?? `of type ${issue.expected}`}`;
    case 'too_small':
      if (issue.origin === 'string') return Number(issue.minimum) <= 1 ? 'must not be empty' : `must have at least ${issue.minimum} characters`;
      return `must be ${issue.inclusive === false ? '>' : '>='} ${issue.minimum}`;
    case 'too_big':
      if (issue.origin === 'string') return `must have at most ${issue.maximum} characters`;
      return `must be ${issue.inclusive === false ? '<' : '<='} ${issue.maximum}`;
    case 'invalid_value':
      return `must be one of ${issue.values.join(', ')}`;
    case 'invalid_format':
      if (issue.format === 'regex' && issue.pattern !== undefined) return `must match pattern "${issue.pattern.replace(/^\/(.*)\/[a-z]*$/s, '$1')}"`;
      return `must be a valid ${issue.format}`;
    default:
      // Refinements carry their own words ("must be an absolute URL").
      return issue.message;
  }
}
