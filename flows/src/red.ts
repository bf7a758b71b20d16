/**
 * The slice of Node-RED's runtime API the nodes use (Node-RED 4.1; see
 * ../../shared/reference/nodered-and-provisioning.md §2.3). Written here instead of depending
 * on @types/node-red, which lags Node-RED 4 and is not installed.
 */
export interface NodeStatus {
  fill?: 'red' | 'green' | 'yellow' | 'blue' | 'grey';
  shape?: 'ring' | 'dot';
  text?: string;
}

export interface NodeMessage {
  _msgid?: string;
  topic?: string;
  payload?: unknown;
  [key: string]: unknown;
}

export interface RedNode {
  id: string;
  name?: string;
  credentials?: Record<string, string | undefined>;
  on(event: 'input', cb: (msg: NodeMessage, send: (msg: NodeMessage | (NodeMessage | null)[]) => void, done: (err?: Error) => void) => void): void;
  on(event: 'close', cb: (removed: boolean, done: () => void) => void): void;
  send(msg: NodeMessage | (NodeMessage | null)[]): void;
  status(s: NodeStatus | Record<string, never>): void;
  error(err: unknown, msg?: NodeMessage): void;
  warn(text: unknown): void;
  log(text: unknown): void;
}

export interface NodeDef {
  id: string;
  type: string;
  name?: string;
  [key: string]: unknown;
}

export interface NodeAPI {
  nodes: {
    createNode(node: object, def: NodeDef): void;
    registerType(type: string, ctor: (this: RedNode, def: NodeDef) => void, opts?: { credentials?: Record<string, { type: 'text' | 'password' }> }): void;
    getNode(id: string): unknown;
  };
  httpAdmin: { get(path: string, auth: (req: unknown, res: unknown, next: () => void) => void, handler: (req: unknown, res: { json(body: unknown): void }) => void): void };
  auth: { needsPermission(permission: string): (req: unknown, res: unknown, next: () => void) => void };
  settings: { userDir?: string; [key: string]: unknown };
  util: {
    evaluateNodeProperty(value: string, type: string, node: RedNode, msg: NodeMessage): unknown;
    getMessageProperty(msg: NodeMessage, expr: string): unknown;
  };
}
