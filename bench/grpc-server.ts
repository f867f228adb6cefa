// The gRPC origin of bench/grpc.ts, in its own process: the JSON Echo service on a free port;
// prints the port on stdout and exits when stdin closes.
import { startEchoServer } from '../src/testing/echo.js';

const server = await startEchoServer('origin', 0, '127.0.0.1');
process.stdout.write(`${server.port}\n`);
process.stdin.resume();
process.stdin.on('end', () => void server.close().then(() => process.exit(0)));
