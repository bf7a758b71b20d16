/**
 * The Node-RED entry of node-red-contrib-lorawan-edge: registers every node type of the
 * "LoRaWAN" palette category. The build (flows/build.mjs) bundles this file and what it
 * imports into dist/nodes/lorawan-edge.js as CommonJS with `module.exports` = this function,
 * the form the Node-RED 4.1 loader and node-red-node-test-helper both require().
 */
import type { NodeAPI } from '../red.ts';
import { builtInCatalogue, registerCatalogue } from './catalogue-node.ts';
import { registerDecode } from './decode-node.ts';
import { registerEncode } from './encode-node.ts';
import { registerInfluxConfig } from './influx-config-node.ts';
import { registerInfluxOut } from './influx-out-node.ts';
import { registerMqttIn } from './mqtt-in-node.ts';

export default function lorawanEdgeNodes(RED: NodeAPI): void {
  registerCatalogue(RED);
  registerInfluxConfig(RED);
  registerDecode(RED);
  registerEncode(RED);
  registerInfluxOut(RED);
  registerMqttIn(RED);
  // The editor's codec pickers: the built-in catalogue's ids, names and whether they take downlinks.
  RED.httpAdmin.get('/lorawan-edge/catalogue', RED.auth.needsPermission('flows.read'), (_req, res) => {
    res.json([...builtInCatalogue().entries.values()].map((e) => ({ id: e.id, name: e.name, category: e.category, downlink: e.downlink?.supported === true })));
  });
}
