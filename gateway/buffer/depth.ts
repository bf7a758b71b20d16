/**
 * How deeply a value nests arrays and maps, measured without recursion (a hostile value may be
 * nested thousands deep: measuring it must not overflow the stack the way encoding it would).
 */

/**
 * Whether `value` nests more than `max` levels of arrays/maps/objects (the value itself is
 * level 1 when it is one). Byte arrays, strings, numbers and other scalars are leaves. Stops at
 * the first path that is too deep.
 */
export function nestsDeeperThan(value: unknown, max: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (walking) return deeperThan(value, max, [], []); // re-entered from a getter: stacks of its own
  walking = true;
  try {
    return deeperThan(value, max, STACK, DEPTHS);
  } finally {
    // Nothing kept alive by the shared stacks between calls.
    STACK.length = 0;
    DEPTHS.length = 0;
    walking = false;
  }
}

/**
 * The walk's two stacks, shared by every call (synchronous, never re-entered): every record the
 * durable log appends is measured, and two arrays grown per record were ~2 % of the gateway's
 * allocations in bench/edge-ns.
 */
const STACK: unknown[] = [];
const DEPTHS: number[] = [];
let walking = false;

function deeperThan(value: object, max: number, stack: unknown[], depths: number[]): boolean {
  stack.push(value);
  depths.push(1);
  while (stack.length > 0) {
    const v = stack.pop();
    const d = depths.pop() as number;
    if (typeof v !== 'object' || v === null || ArrayBuffer.isView(v) || v instanceof Date) continue;
    if (d > max) return true;
    if (Array.isArray(v)) {
      for (const e of v) {
        if (typeof e === 'object' && e !== null) {
          stack.push(e);
          depths.push(d + 1);
        }
      }
    } else if (v instanceof Map) {
      for (const e of v.values()) {
        stack.push(e);
        depths.push(d + 1);
      }
    } else {
      for (const k in v) {
        const e = (v as Record<string, unknown>)[k];
        if (typeof e === 'object' && e !== null) {
          stack.push(e);
          depths.push(d + 1);
        }
      }
    }
  }
  return false;
}
