import fc from 'fast-check';

/**
 * M-Bus telegrams for differential and fuzz tests of the flowIQ decoder: mostly well-formed
 * (headers 0x78/0x7A/0x72, records with DIFEs, every VIF table, combinable VIFEs, compact
 * profiles with their base and date records, manufacturer data at the end), some cut short at
 * a random byte or with a byte changed, so the error paths are reached too.
 */
const header = fc.oneof(
  { weight: 4, arbitrary: fc.constant([0x78]) },
  { weight: 4, arbitrary: fc.constant([0x7a, 0x08, 0x00, 0x00, 0x00]) },
  { weight: 2, arbitrary: fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 })).map(([a, s]) => [0x7a, a, s, 0x00, 0x00]) },
  { weight: 2, arbitrary: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 10, maxLength: 10 }).map((h) => [0x72, ...h, 0x00, 0x00]) },
  { weight: 1, arbitrary: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 6 }) },
);

const byte = fc.integer({ min: 0, max: 255 });
const vife = fc.oneof(
  fc.constantFrom(0x13, 0x1f, 0x1e, 0x15, 0x16, 0x17, 0x18, 0x1c, 0x12, 0x3b, 0x3c, 0x3e, 0x7e, 0x70, 0x74, 0x77, 0x7d, 0x7f),
  fc.integer({ min: 0, max: 0x7f }),
);
const vifCode = fc.oneof(
  fc.constantFrom(0x13, 0x14, 0x6d, 0x6c, 0x3b, 0x3e, 0x5b, 0x67, 0x43, 0x4b, 0x22, 0x78, 0x79, 0x7a, 0x6e, 0x6f),
  fc.integer({ min: 0, max: 0x7a }),
);

/** VIF and VIFEs of one record (extension bits set on all but the last byte). */
const vifBlock = fc
  .tuple(
    fc.oneof({ weight: 6, arbitrary: vifCode.map((c) => ({ vif: c, first: [] as number[] })) }, {
      weight: 3,
      arbitrary: fc.tuple(fc.constantFrom(0x7b, 0x7d, 0x7f), fc.oneof(fc.constantFrom(0x25, 0x1c, 0x16, 0x0c, 0x17, 0x0e, 0x3a, 0x74, 0x10, 0x00, 0x48), fc.integer({ min: 0, max: 0x7f }))).map(([vif, code]) => ({ vif, first: [code] })),
    }, { weight: 1, arbitrary: fc.constantFrom(0x7c, 0x7e, 0x7f).map((vif) => ({ vif, first: [] as number[] })) }),
    fc.array(vife, { maxLength: 3 }),
    fc.array(fc.integer({ min: 0x20, max: 0x7e }), { maxLength: 4 }),
  )
  .map(([{ vif, first }, more, text]) => {
    const codes = [...first, ...more];
    const out = [codes.length ? vif | 0x80 : vif];
    codes.forEach((c, k) => out.push(k < codes.length - 1 ? c | 0x80 : c));
    if (vif === 0x7c) out.push(text.length, ...text);
    return out;
  });

const DATA_LENGTH = [0, 1, 2, 3, 4, 4, 6, 8, 0, 1, 2, 3, 4, -1, 6];

/** One data record: DIF, DIFEs, VIF block, data (LVAR: a length byte, often a compact profile). */
const record = fc
  .tuple(
    fc.oneof(fc.constantFrom(0x04, 0x44, 0x4d, 0x0d, 0x02, 0x42, 0x01, 0x41, 0x84, 0xc4, 0x14, 0x24, 0x34, 0x0c, 0x05, 0x07, 0x00, 0x08, 0x0e, 0x52, 0x62, 0x82), byte.filter((d) => (d & 0x0f) !== 0x0f)),
    fc.array(byte, { maxLength: 2 }),
    vifBlock,
    fc.oneof(
      fc.tuple(fc.constantFrom(0x61, 0x62, 0x64, 0x41, 0x42, 0xe1, 0xe2, 0xd2, 0x19, 0x2a, 0x3b, 0x1e), fc.oneof(fc.constantFrom(1, 2, 0xfe, 24), byte), fc.array(byte, { maxLength: 16 })).map(([c, s, e]) => [c, s, ...e]),
      fc.array(byte, { maxLength: 16 }),
    ),
    fc.array(byte, { minLength: 8, maxLength: 8 }),
    fc.constantFrom(0x20, 0x41, 0xc2, 0xe2, 0xd1, 0x00, 0xf0, 0xf8),
  )
  .map(([dif, difes, vif, lvarData, fixed, numericLvar]) => {
    const out = [dif];
    difes.forEach((d, k) => out.push(k < difes.length - 1 ? d | 0x80 : d & 0x7f));
    if (difes.length === 0) out[0] = dif & 0x7f;
    else out[0] = dif | 0x80;
    out.push(...vif);
    const n = DATA_LENGTH[(out[0] as number) & 0x0f] as number;
    if (n >= 0) out.push(...fixed.slice(0, n));
    else if (numericLvar === 0x20) out.push(lvarData.length, ...lvarData);
    else out.push(numericLvar, ...fixed);
    return out;
  });

const dateRecord = fc.tuple(fc.constantFrom(0x04, 0x44, 0x02, 0x42, 0x84), fc.array(byte, { minLength: 4, maxLength: 4 })).map(([dif, d]) =>
  (dif & 0x0f) === 2 ? [dif & 0x7f, 0x6c, d[0] as number, (d[1] as number) & 0x3f] : dif === 0x84 ? [0x84, 0x04, 0x6d, ...d] : [dif, 0x6d, (d[0] as number) & 0x3f, (d[1] as number) & 0x3f, d[2] as number, (d[3] as number) & 0xbf],
);

/** A date record, a base register and its compact profile (the shape flowIQ sends), storage and VIF varied. */
const profileGroup = fc
  .tuple(
    fc.constantFrom(0x40, 0x00, 0x80),
    fc.constantFrom(0x13, 0x14, 0x3b, 0x5b, 0x10, 0x05),
    fc.constantFrom(0x04, 0x02, 0x01, 0x0c, 0x05),
    fc.array(byte, { minLength: 4, maxLength: 4 }),
    fc.constantFrom(0x13, 0x1f, 0x1e),
    fc.array(vife, { maxLength: 2 }),
    fc.constantFrom(0x41, 0x42, 0x44, 0x61, 0x62, 0xc1, 0xc2, 0x81, 0x72, 0x49, 0x4a, 0x52, 0x45),
    fc.oneof(fc.constantFrom(1, 2, 3, 15, 0xfe), byte),
    fc.array(byte, { maxLength: 24 }),
    fc.boolean(),
  )
  .map(([s, code, coding, value, kind, more, control, spacing, elements, withDate]) => {
    const storage = s === 0x80 ? [0x80 | coding, 0x01] : [s | coding];
    const vifes = [kind, ...more];
    const profile = [...(s === 0x80 ? [0x8d, 0x01] : [0x0d | s]), code | 0x80, ...vifes.map((v, k) => (k < vifes.length - 1 ? v | 0x80 : v & 0x7f))];
    const date = withDate ? [s === 0x80 ? 0x84 : s | 0x04, ...(s === 0x80 ? [0x01] : []), 0x6d, 0x00, 0x0c, 0x3d, 0x28] : [];
    const len = [0, 1, 2, 3, 4, 4][coding & 0x0f] ?? 4;
    return [...date, ...storage, code, ...value.slice(0, len), ...profile, elements.length + 2, control, spacing, ...elements];
  });

export const telegramBytes: fc.Arbitrary<Uint8Array> = fc
  .tuple(
    header,
    fc.array(fc.oneof({ weight: 5, arbitrary: record }, { weight: 2, arbitrary: dateRecord }, { weight: 2, arbitrary: profileGroup }, { weight: 1, arbitrary: fc.constant([0x2f]) }), { maxLength: 8 }),
    fc.option(fc.tuple(fc.constantFrom(0x0f, 0x1f), fc.array(byte, { maxLength: 4 })), { nil: undefined }),
    fc.oneof({ weight: 6, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.nat() }),
    fc.oneof({ weight: 6, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.tuple(fc.nat(), byte) }),
  )
  .map(([h, records, mfr, cut, change]) => {
    const all = [...h, ...records.flat(), ...(mfr ? [mfr[0], ...mfr[1]] : [])];
    if (change && all.length > 0) all[change[0] % all.length] = change[1];
    return Uint8Array.from(cut === undefined ? all : all.slice(0, 1 + (cut % all.length)));
  });
