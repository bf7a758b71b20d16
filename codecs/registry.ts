/**
 * The explicit list of native codecs. Adding a codec = adding its folder and one line here;
 * `codecs/contract.test.ts` fails when a folder under codecs/<vendor>/ is not listed (or a listed
 * one lacks codec.ts, codec.test.ts, arbitrary.ts, examples.json or README.md).
 */
import type { Codec } from './api.ts';
import { codec as axiomaQalcosonicW1 } from './axioma/qalcosonic-w1/codec.ts';
import { codec as decentlabDlMbx } from './decentlab/dl-mbx/codec.ts';
import { codec as decentlabDlPm } from './decentlab/dl-pm/codec.ts';
import { codec as dingtekDf703 } from './dingtek/df703/codec.ts';
import { codec as draginoLdds75 } from './dragino/ldds75/codec.ts';
import { codec as elsys } from './elsys/elsys/codec.ts';
import { codec as cayenneLpp } from './generic/cayenne-lpp/codec.ts';
import { codec as kamstrupFlowiq2200 } from './kamstrup/flowiq2200/codec.ts';
import { codec as milesightAm103 } from './milesight-iot/am103/codec.ts';
import { codec as milesightAm307 } from './milesight-iot/am307/codec.ts';
import { codec as milesightAm319 } from './milesight-iot/am319/codec.ts';
import { codec as milesightEm300Di } from './milesight-iot/em300-di/codec.ts';
import { codec as milesightEm310Udl } from './milesight-iot/em310-udl/codec.ts';
import { codec as milesightEm400Mud } from './milesight-iot/em400-mud/codec.ts';
import { codec as milesightEm500Udl } from './milesight-iot/em500-udl/codec.ts';
import { codec as netvoxR718h } from './netvox/r718h/codec.ts';

export const NATIVE_CODECS: readonly Codec[] = [
  axiomaQalcosonicW1,
  cayenneLpp,
  decentlabDlMbx,
  decentlabDlPm,
  dingtekDf703,
  draginoLdds75,
  elsys,
  kamstrupFlowiq2200,
  milesightAm103,
  milesightAm307,
  milesightAm319,
  milesightEm300Di,
  milesightEm310Udl,
  milesightEm400Mud,
  milesightEm500Udl,
  netvoxR718h,
];

const BY_ID = new Map(NATIVE_CODECS.map((c) => [c.id, c]));

export function nativeCodec(id: string): Codec | undefined {
  return BY_ID.get(id);
}
