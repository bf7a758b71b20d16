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
    // A rare wide value (thousands of entries) does not keep its stack size for good.
    if (STACK.length > 4096) {
      STACK.length = 0;
      DEPTHS.length = 0;
    }
    walking = false;
  }
}

/**
 * The walk's two stacks, shared by every call (synchronous, never re-entered): every record the
 * durable log appends is measured. They keep their length (emptying them with `length = 0`
 * freed the backing store, and the next record allocated it again, ~320 bytes per record);
 * each slot is cleared as it is popped, so nothing stays alive between calls.
 */
const STACK: unknown[] = [];
const DEPTHS: number[] = [];
let walking = false;

function deeperThan(value: object, max: number, stack: unknown[], depths: number[]): boolean {
  // Pushes are written out (a closure for them was itself an allocation per record).
  stack[0] = value;
  depths[0] = 1;
  let top = 1;
  while (top > 0) {
    top--;
    const v = stack[top];
    stack[top] = undefined;
    const d = depths[top] as number;
    if (typeof v !== 'object' || v === null || ArrayBuffer.isView(v) || v instanceof Date) continue;
    if (d > max) {
      for (let i = 0; i < top; i++) stack[i] = undefined;
      return true;
    }
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const e: unknown = v[i];
        if (typeof e === 'object' && e !== null) {
          stack[top] = e;
          depths[top++] = d + 1;
        }
      }
    } else if (v instanceof Map) {
      for (const e of v.values()) {
        stack[top] = e;
        depths[top++] = d + 1;
      }
    } else {
      for (const k in v) {
        const e = (v as Record<string, unknown>)[k];
        if (typeof e === 'object' && e !== null) {
          stack[top] = e;
          depths[top++] = d + 1;
        }
      }
    }
  }
  return false;
}
