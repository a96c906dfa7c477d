// bench/fleet-trace: loaded with `node -r` into `hvagent serve` (never in production): the
// server's wall time per hand-over, from its `request` event to `res.end` (HTTP), or from a
// hand-over connection's data to its reply line (the socket's own wire); the median is
// printed on stderr when the server gets SIGTERM (its own handler then stops it).
const http = require('node:http');
const { performance } = require('node:perf_hooks');

const times = [];
const emit = http.Server.prototype.emit;
http.Server.prototype.emit = function (event, request, response) {
  if (event === 'connection') {
    const socket = request;
    let start;
    socket.on('data', () => (start ??= performance.now()));
    const write = socket.write;
    socket.write = function (chunk, ...rest) {
      if (start !== undefined && typeof chunk === 'string' && chunk.startsWith('{"reply"')) {
        times.push(performance.now() - start);
        start = undefined;
      }
      return write.call(this, chunk, ...rest);
    };
  }
  if (event === 'request') {
    const start = performance.now();
    const end = response.end;
    response.end = function (...args) {
      times.push(performance.now() - start);
      return end.apply(this, args);
    };
  }
  return emit.apply(this, arguments);
};
process.once('SIGTERM', () => {
  const sorted = times.slice(0).sort((a, b) => a - b);
  process.stderr.write(`server: request to reply (res.end or the reply line), ${sorted.length} requests, median ${sorted[sorted.length >> 1]?.toFixed(3)} ms\n`);
});
