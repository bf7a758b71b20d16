/**
 * Whether a frame asks for an answer, from its bytes alone — before the dedup window closes, so
 * before its MIC is checked or anything is decrypted (`dedup.ts`'s answer deadline). The same
 * frames the network server answers (`prepareAnswer`): a join-request, a confirmed uplink, the
 * ADRACKReq bit, FOpts holding LinkCheckReq or DeviceTimeReq (FOpts are not encrypted in
 * LoRaWAN 1.0.x), and FPort 0 (MAC commands in the encrypted FRMPayload: not readable here, so
 * taken as asking). A queued downlink is the network server's to add (it knows the queue). Not
 * foreseeable here: a LinkADRReq the ADR engine decides on — such a frame waits its window.
 * A frame that fails to parse later was only closed sooner; nothing else depends on this.
 */
import { macCommandSpecByCid } from '../../lorawan/mac-commands.ts';

const LINK_CHECK_REQ = 0x02;
const DEVICE_TIME_REQ = 0x0d;

export function answerAsked(data: Uint8Array): boolean {
  const mType = (data[0] ?? 0xff) >> 5;
  if (mType === 0) return data.length === 23; // join-request
  if (mType !== 2 && mType !== 4) return false; // not a data uplink
  if (mType === 4) return true; // confirmed
  if (data.length < 12) return false;
  const fCtrl = data[5] as number;
  if (fCtrl & 0x40) return true; // ADRACKReq
  const fOptsEnd = 8 + (fCtrl & 0x0f);
  const micStart = data.length - 4;
  if (fOptsEnd > micStart) return false;
  for (let o = 8; o < fOptsEnd; ) {
    const cid = data[o] as number;
    if (cid === LINK_CHECK_REQ || cid === DEVICE_TIME_REQ) return true;
    const spec = macCommandSpecByCid('up', cid);
    if (!spec) break;
    o += 1 + spec.length;
  }
  return fOptsEnd < micStart && data[fOptsEnd] === 0; // FPort 0
}
