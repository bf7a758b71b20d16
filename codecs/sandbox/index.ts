/**
 * Third-party JavaScript codecs, run unmodified in a QuickJS sandbox. See README.md.
 */
export {
  codecForDevice,
  combineScriptCodecs,
  formatBytes,
  loadScriptCodec,
  setSandboxMemoryBudget,
  SCRIPT_DEFAULTS,
  ScriptLoadError,
  type ScriptCodec,
  type ScriptCodecOptions,
  type ScriptLogEntry,
  type ScriptOperation,
  type ScriptStyle,
} from './script-codec.ts';
export { MAX_RESULT_BYTES_LIMIT } from './engine.ts';
