/** fast-check arbitraries for the LoRaWAN tests (test support only; not part of the public API). */
import fc from 'fast-check';
import type { DataFrameFields } from '../data-frame.ts';
import type { DataMType } from '../phy-payload.ts';

export const key16 = fc.uint8Array({ minLength: 16, maxLength: 16 });
export const u32 = fc.integer({ min: 0, max: 0xffffffff });

const DATA_MTYPES: DataMType[] = ['UnconfirmedDataUp', 'UnconfirmedDataDown', 'ConfirmedDataUp', 'ConfirmedDataDown'];

/**
 * Valid data-frame fields: flags that exist in the frame's direction, FOpts ≤ 15 bytes, no FOpts
 * with FPort 0, no payload without FPort, PHYPayload ≤ 255 bytes.
 */
export const dataFrameFields: fc.Arbitrary<DataFrameFields> = fc
  .record({
    mType: fc.constantFrom(...DATA_MTYPES),
    devAddr: u32,
    fCnt: fc.oneof(u32, fc.integer({ min: 0, max: 70_000 })),
    adr: fc.boolean(),
    bit6: fc.boolean(),
    ack: fc.boolean(),
    bit4: fc.boolean(),
    fOpts: fc.uint8Array({ maxLength: 15 }),
    fPort: fc.option(fc.integer({ min: 0, max: 255 }), { nil: null, freq: 8 }),
    payload: fc.uint8Array({ maxLength: 64 }),
  })
  .map((r) => {
    const up = r.mType === 'UnconfirmedDataUp' || r.mType === 'ConfirmedDataUp';
    const fOpts = r.fPort === 0 ? new Uint8Array(0) : r.fOpts;
    const payload = r.fPort === null ? new Uint8Array(0) : r.payload;
    const fCtrl = up
      ? { adr: r.adr, adrAckReq: r.bit6, ack: r.ack, classB: r.bit4 }
      : { adr: r.adr, ack: r.ack, fPending: r.bit4 };
    return { mType: r.mType, devAddr: r.devAddr, fCnt: r.fCnt, fCtrl, fOpts, fPort: r.fPort, payload };
  });
