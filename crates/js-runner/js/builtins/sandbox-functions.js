// @sandbox/functions — the sandbox's services from JavaScript, over the `sandbox.call`
// host import (the same JSON requests the Rust SDK sends): queues, topics, streams and
// the event bus. Every function returns a promise and also accepts a Node callback.
'use strict';
const call = globalThis.__sandbox_call;

function request(body) {
  const answer = JSON.parse(call(JSON.stringify(body)));
  if (answer.error !== undefined) {
    const error = new Error(answer.error);
    error.name = 'SandboxServiceError';
    throw error;
  }
  return answer.ok;
}
// Host calls are synchronous; the promise keeps handlers' `await` meaningful and errors
// arriving as rejections, as with the AWS SDK.
function promised(fn) {
  return function (...args) {
    const callback = typeof args[args.length - 1] === 'function' ? args.pop() : null;
    let result;
    try { result = Promise.resolve(fn(...args)); } catch (e) { result = Promise.reject(e); }
    if (!callback) return result;
    result.then((r) => callback(null, r), (e) => callback(e));
  };
}
const text = (value) => (typeof value === 'string' ? value : JSON.stringify(value));
const base64 = (data) => (typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data)).toString('base64');

module.exports = {
  queues: {
    send: promised((queue, body, options = {}) => request({ service: 'queues', action: 'send', queue, body: text(body), ...options })),
  },
  topics: {
    publish: promised((topic, message, options = {}) => request({ service: 'topics', action: 'publish', topic, message: text(message), ...options })),
  },
  streams: {
    put: promised((stream, partitionKey, data, options = {}) => request({ service: 'streams', action: 'put', stream, partitionKey, data: base64(data), ...options })),
    putRecords: promised((stream, records) => request({
      service: 'streams', action: 'putRecords', stream,
      records: records.map((r) => ({ partitionKey: r.partitionKey, data: base64(r.data), ...(r.explicitHashKey ? { explicitHashKey: r.explicitHashKey } : {}) })),
    })),
  },
  bus: {
    putEvents: promised((entries) => request({
      service: 'bus', action: 'put_events',
      entries: entries.map((e) => ({ ...e, Detail: e.Detail === undefined ? undefined : text(e.Detail) })),
    })),
  },
  call: promised((body) => request(body)),
};
