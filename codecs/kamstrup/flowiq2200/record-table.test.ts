import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ByteReader, PayloadError } from '../../bytes.ts';
import { parseRecords, parseTplHeader, type DataRecord, type VifTable } from './mbus.ts';
import { ANY, FB, FD, MANUFACTURER, PLAIN, PRIMARY, readRecords, RecordTable, skipTplHeader } from './record-table.ts';
import { telegramBytes } from './telegram-arbitrary.ts';

const TABLE_NAMES: Record<number, VifTable> = { [PRIMARY]: 'primary', [FB]: 'fb', [FD]: 'fd', [MANUFACTURER]: 'manufacturer', [PLAIN]: 'plain', [ANY]: 'any' };

/** What the generic parser of `mbus.ts` says about a telegram: its records' fields, or its error. */
function generic(bytes: Uint8Array): unknown {
  try {
    const r = new ByteReader(bytes);
    parseTplHeader(r);
    const { records, manufacturerData } = parseRecords(r);
    return {
      records: records.map((rec: DataRecord) => ({
        offset: rec.offset,
        dif: rec.dif,
        storage: rec.storage,
        tariff: rec.tariff,
        subunit: rec.subunit,
        table: rec.table,
        code: rec.code,
        extensions: [...rec.extensions],
        manufacturerExtension: rec.manufacturerExtension,
        plainText: rec.plainText,
        lvar: rec.lvar,
        data: [...rec.data],
      })),
      manufacturerDataAt: manufacturerData ? manufacturerData.offset : -1,
    };
  } catch (err) {
    if (!(err instanceof PayloadError)) throw err;
    return { error: err.message };
  }
}

const table = new RecordTable();

/** The same, read by the record table. */
function tabled(bytes: Uint8Array): unknown {
  try {
    readRecords(bytes, skipTplHeader(bytes), table);
    const t = table;
    const records = [];
    for (let i = 0; i < t.count; i++) {
      const ds = t.dataStart[i] as number;
      const ps = t.plainStart[i] as number;
      records.push({
        offset: t.offset[i],
        dif: t.dif[i],
        storage: t.storage[i],
        tariff: t.tariff[i],
        subunit: t.subunit[i],
        table: TABLE_NAMES[t.table[i] as number],
        code: t.code[i],
        extensions: [...t.ext.subarray(t.extStart[i], (t.extStart[i] as number) + (t.extCount[i] as number))],
        manufacturerExtension: t.manufacturerExtension[i] === 1,
        plainText: t.table[i] === PLAIN ? String.fromCharCode(...[...bytes.subarray(ps, ps + (t.plainLength[i] as number))].reverse()) : undefined,
        lvar: t.lvar[i] === -1 ? undefined : t.lvar[i],
        data: [...bytes.subarray(ds, ds + (t.dataLength[i] as number))],
      });
    }
    return { records, manufacturerDataAt: t.manufacturerDataAt };
  } catch (err) {
    if (!(err instanceof PayloadError)) throw err;
    return { error: err.message };
  }
}

describe('record table', () => {
  it('reads every telegram as the generic record parser does: the same fields, or the same error', () => {
    // The record table replaced the record objects in the flowIQ decoder; the generic parser is
    // the reference it was checked against (and stays the documented, object-based reading).
    fc.assert(
      fc.property(telegramBytes, (bytes) => {
        expect(tabled(bytes)).toEqual(generic(bytes));
      }),
      { seed: 11_207, numRuns: 4000 },
    );
  });

  it('grows with the telegram and is emptied by each read', () => {
    const long = Uint8Array.from([0x78, ...Array.from({ length: 200 }, (_, k) => [0x01, 0x13, k & 0xff]).flat()]);
    readRecords(long, skipTplHeader(long), table);
    expect(table.count).toBe(200);
    expect(table.dataStart[199]).toBe(long.length - 1);
    const short = Uint8Array.from([0x78, 0x01, 0x13, 0x05]);
    readRecords(short, skipTplHeader(short), table);
    expect(table.count).toBe(1);
    expect(table.manufacturerDataAt).toBe(-1);
  });
});
