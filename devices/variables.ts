/**
 * Device variables (installation geometry, pulse weights, naming…) checked against what the
 * catalogue entry declares: names, types, ranges. One function for every place variables enter
 * (CLI `--var`, `devices add`, the registry, CSV imports, fleet files), so a typo such as
 * `container_dept_mm` or a value such as `abc`, `-5` or `1e999` gets the same answer everywhere
 * instead of silently losing `fill_pct`.
 *
 * Where variables are written (a command line, an import, a fleet) an unknown name is an error;
 * where they are read (the gateway loading its registry) it is a warning, so one stale entry
 * does not stop a running installation.
 */
import { didYouMean } from './did-you-mean.ts';

export interface VariableSpec {
  description: string;
  unit?: string;
  required?: boolean;
  default?: unknown;
  type?: 'number' | 'integer' | 'string' | 'boolean';
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  enum?: (string | number)[];
  /** Another variable this one must be smaller than. */
  below?: string;
  aliases?: string[];
}

export type VariableSpecs = Record<string, VariableSpec>;

export interface VariableProblem {
  /** the variable's name as written */
  name: string;
  message: string;
  severity: 'error' | 'warning';
}

export type VariableMode = 'write' | 'read';

function specOf(specs: VariableSpecs, name: string): { canonical: string; spec: VariableSpec } | undefined {
  const direct = specs[name];
  if (direct && Object.hasOwn(specs, name)) return { canonical: name, spec: direct };
  for (const spec of Object.values(specs)) if (spec.aliases?.includes(name)) return { canonical: name, spec };
  // A name written in another case (a CSV header `Var:Container_Depth_MM`) is the declared one.
  const lower = name.toLowerCase();
  for (const [canonical, spec] of Object.entries(specs)) if (canonical.toLowerCase() === lower) return { canonical, spec };
  return undefined;
}

function typeOf(spec: VariableSpec): VariableSpec['type'] {
  if (spec.type) return spec.type;
  if (typeof spec.default === 'number') return 'number';
  if (spec.minimum !== undefined || spec.maximum !== undefined) return 'number';
  return undefined;
}

function range(spec: VariableSpec): string {
  const unit = spec.unit ? ` ${spec.unit}` : '';
  const lo = spec.exclusiveMinimum !== undefined ? `more than ${spec.exclusiveMinimum}` : spec.minimum !== undefined ? `at least ${spec.minimum}` : undefined;
  const hi = spec.maximum !== undefined ? `at most ${spec.maximum}` : undefined;
  return [lo, hi].filter(Boolean).join(' and ') + unit;
}

/** Checks (and converts) one value; returns the value to keep or an error message. */
export function checkValue(spec: VariableSpec, value: unknown): { value: unknown } | { error: string } {
  const type = typeOf(spec);
  let v = value;
  if (type === 'number' || type === 'integer') {
    if (typeof v === 'string') {
      const t = v.trim();
      // Number('') is 0 and Number('0x10') is 16: only decimal notation is a number here.
      v = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(t) ? Number(t) : v;
    }
    if (typeof v !== 'number' || Number.isNaN(v)) return { error: `must be a number, got ${JSON.stringify(value)}` };
    if (!Number.isFinite(v)) return { error: `must be a finite number, got ${JSON.stringify(String(value))}` };
    if (type === 'integer' && !Number.isInteger(v)) return { error: `must be a whole number, got ${v}` };
    const tooLow = (spec.minimum !== undefined && v < spec.minimum) || (spec.exclusiveMinimum !== undefined && v <= spec.exclusiveMinimum);
    if (tooLow || (spec.maximum !== undefined && v > spec.maximum)) return { error: `must be ${range(spec)}, got ${v}` };
  } else if (type === 'boolean') {
    if (v === 'true' || v === 'false') v = v === 'true';
    if (typeof v !== 'boolean') return { error: `must be true or false, got ${JSON.stringify(value)}` };
  } else if (type === 'string') {
    if (typeof v === 'number' && Number.isFinite(v)) v = String(v);
    if (typeof v !== 'string' || v === '') return { error: `must be a non-empty string, got ${JSON.stringify(value)}` };
  } else if (typeof v === 'number' && !Number.isFinite(v)) {
    return { error: `must be a finite number, got ${JSON.stringify(String(value))}` };
  }
  if (spec.enum && !spec.enum.some((e) => e === v)) {
    return { error: `must be one of ${spec.enum.join(', ')}, got ${JSON.stringify(v)}${didYouMean(String(v), spec.enum.map(String))}` };
  }
  return { value: v };
}

/**
 * What a catalogue entry lets us check variables against: its declarations; none (`{}`) for a
 * native codec without a `variables` section (it reads none); undefined for a script codec
 * without one — a vendor's script may read any variable, so only the values are checked.
 */
export function declaredVariables(entry: { variables?: VariableSpecs; codec?: unknown }): VariableSpecs | undefined {
  if (entry.variables) return entry.variables;
  return typeof entry.codec === 'string' ? {} : undefined;
}

/**
 * Checks variables against a model's declared ones (see declaredVariables; undefined checks the
 * values only). Returns the converted values (unknown names kept as given, so a read never loses
 * data) and every problem found.
 */
export function checkVariables(values: Record<string, unknown>, specs: VariableSpecs | undefined, mode: VariableMode, model = 'this model'): { values: Record<string, unknown>; problems: VariableProblem[] } {
  const declared = specs ?? {};
  const checkNames = specs !== undefined;
  const names = Object.keys(declared);
  const out: Record<string, unknown> = {};
  const problems: VariableProblem[] = [];
  for (const [name, value] of Object.entries(values)) {
    const hit = specOf(declared, name);
    if (typeof value === 'number' && !Number.isFinite(value)) {
      // `1e999` and YAML's `.inf`/`.nan`: no codec can use them, whatever the declaration.
      problems.push({ name, severity: 'error', message: `must be a finite number, got ${String(value)}` });
      continue;
    }
    if (!hit && !checkNames) {
      out[name] = value;
      continue;
    }
    if (!hit) {
      const listed = names.length ? `; ${model} declares ${names.join(', ')}` : `; ${model} declares no variables`;
      problems.push({ name, severity: mode === 'write' ? 'error' : 'warning', message: `unknown variable${didYouMean(name, names)}${listed}` });
      out[name] = value;
      continue;
    }
    const r = checkValue(hit.spec, value);
    if ('error' in r) problems.push({ name, severity: 'error', message: r.error });
    else out[hit.canonical] = r.value;
  }
  for (const [name, spec] of Object.entries(declared)) {
    if (!spec.below) continue;
    const a = out[name];
    const b = out[spec.below];
    if (typeof a === 'number' && typeof b === 'number' && a >= b) {
      problems.push({ name, severity: 'error', message: `must be less than ${spec.below} (${b}), got ${a}` });
    }
  }
  return { values: out, problems };
}
