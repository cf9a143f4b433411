// The write floor's reader: opens the connections and discards what arrives, in a process of its own so its CPU is not counted.
import { connect } from 'node:net';

const port = Number(process.argv[2]);
const sockets = Number(process.argv[3]);
for (let i = 0; i < sockets; i++) connect(port, '127.0.0.1').on('data', () => undefined).on('error', () => undefined);
process.on('disconnect', () => process.exit(0));
