/**
 * lorawan-edge LoRaWAN layer: LoRaWAN 1.0.x MAC on node:crypto and the Semtech UDP
 * packet-forwarder protocol. Everything re-exported here imports only node: modules. See README.md.
 */
export { AesKey, aesKey, type AesEncryptKey, type CipherKeyInput, type KeyInput } from './aes.ts';
export { aesCmac } from './aes-cmac.ts';
export { fromHex, hex16, hex24, hex32, toHex } from './bytes.ts';
export {
  DATA_FRAME_MIN_LENGTH,
  JOIN_ACCEPT_LENGTHS,
  JOIN_REQUEST_LENGTH,
  MTYPES,
  MTYPE_CODE,
  directionOf,
  encodePhyPayload,
  mhdrFor,
  parsePhyPayload,
  type DataFrame,
  type DataMType,
  type Direction,
  type FCtrl,
  type JoinAcceptFrame,
  type JoinRequestFrame,
  type MType,
  type PhyError,
  type PhyErrorCode,
  type PhyFrame,
  type PhyParseResult,
  type ProprietaryFrame,
} from './phy-payload.ts';
export { computeDataMic, computeJoinMic, verifyDataMic, verifyJoinRequestMic } from './mic.ts';
export {
  cryptFrmPayload,
  decryptFrmPayload,
  decryptJoinAcceptBody,
  encryptFrmPayload,
  encryptJoinAcceptBody,
  xorFrmPayloadKeystream,
} from './crypto.ts';
export {
  buildDataFrame,
  dataFrameMic,
  decryptDataFrame,
  openDataFrame,
  type DataFrameFields,
  type OpenedDataFrame,
  type SessionKeys,
} from './data-frame.ts';
export {
  buildJoinAccept,
  buildJoinRequest,
  decodeCfList,
  encodeCfList,
  encryptJoinAcceptPlaintext,
  joinAcceptPlaintext,
  openJoinAccept,
  type CfList,
  type JoinAccept,
  type JoinAcceptErrorCode,
  type JoinAcceptFields,
  type JoinAcceptResult,
  type JoinRequestFields,
} from './join.ts';
export { deriveSessionKeys, type JoinNonces, type SessionKeyPair } from './session-keys.ts';
export { MAX_FCNT_GAP, reconstructFCnt, type FCntAccepted, type FCntOptions, type FCntRejected, type FCntResult } from './fcnt.ts';
export {
  GPS_EPOCH_UNIX_SECONDS,
  GPS_UTC_LEAP_SECONDS,
  MAC_COMMAND_SPECS,
  MAX_EIRP_DBM,
  decodeMacCommands,
  deviceTimeFromUnixMs,
  encodeMacCommands,
  macCommandLength,
  macCommandSpec,
  macCommandSpecByCid,
  unixMsFromDeviceTime,
  type DecodedMacCommand,
  type MacCommand,
  type MacCommandError,
  type MacCommandFields,
  type MacCommandName,
  type MacCommandOf,
  type MacDecodeResult,
  type MacErrorCode,
} from './mac-commands.ts';
export * as regions from './regions/index.ts';
export * as udp from './udp/index.ts';
