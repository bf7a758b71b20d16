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
  const stack: unknown[] = [value];
  const depths: number[] = [1];
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
