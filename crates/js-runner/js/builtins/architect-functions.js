// @architect/functions, as much as handlers commonly use: events.publish,
// queues.publish, http / http.async with Architect's request shape (parsed body,
// params, query) and response shorthands (json, html, text, xml, css, js, location,
// status, headers, cookie, cacheControl, cors), and static(). Not provided:
// tables (DynamoDB), session, ws, services discovery.
'use strict';
const sandbox = require('@sandbox/functions');

function publisher(send) {
  return function publish(params, callback) {
    if (!params || !params.name) throw new ReferenceError('missing params.name');
    if (params.payload === undefined) throw new ReferenceError('missing params.payload');
    const done = send(params);
    if (typeof callback === 'function') done.then((r) => callback(null, r), callback);
    else return done;
  };
}
const events = {
  publish: publisher((p) => sandbox.topics.publish(p.name, JSON.stringify(p.payload))),
  subscribe: (fn) => async (event) => Promise.all((event.Records || []).map((r) => fn(JSON.parse(r.Sns.Message)))),
};
const queues = {
  publish: publisher((p) => sandbox.queues.send(p.name, JSON.stringify(p.payload), {
    ...(p.delaySeconds !== undefined ? { delaySeconds: p.delaySeconds } : {}),
    ...(p.groupID !== undefined ? { groupId: String(p.groupID) } : {}),
  })),
  subscribe: (fn) => async (event) => Promise.all((event.Records || []).map((r) => fn(JSON.parse(r.body)))),
};

function parseBody(req) {
  let body = req.body;
  if (body === undefined || body === null || body === '') return {};
  if (req.isBase64Encoded) body = Buffer.from(body, 'base64').toString('utf8');
  const headers = req.headers || {};
  const type = String(headers['content-type'] || headers['Content-Type'] || '');
  try {
    if (type.includes('json')) return JSON.parse(body);
    if (type.includes('application/x-www-form-urlencoded')) return Object.fromEntries(new URLSearchParams(body));
  } catch (e) {
    return body;
  }
  return body;
}

function request(event) {
  const req = { ...event };
  req.method = event.requestContext && event.requestContext.http ? event.requestContext.http.method : event.httpMethod;
  req.path = event.rawPath || event.path;
  req.params = event.pathParameters || {};
  req.query = event.queryStringParameters || {};
  req.headers = event.headers || {};
  req.rawBody = event.body;
  req.body = parseBody(event);
  req.session = {};
  return req;
}

const TYPES = [
  ['json', 'application/json; charset=utf8', (b) => JSON.stringify(b)],
  ['html', 'text/html; charset=utf8'],
  ['text', 'text/plain; charset=utf8'],
  ['xml', 'application/xml; charset=utf8'],
  ['css', 'text/css; charset=utf8'],
  ['js', 'text/javascript; charset=utf8'],
];

function response(res) {
  if (res === undefined || res === null) return { statusCode: 204 };
  if (typeof res !== 'object') return { statusCode: 200, headers: { 'content-type': 'text/html; charset=utf8' }, body: String(res) };
  const headers = { ...(res.headers || {}) };
  let statusCode = res.statusCode || res.status || res.code;
  let body = res.body;
  for (const [key, type, encode] of TYPES) {
    if (res[key] !== undefined) {
      headers['content-type'] = headers['content-type'] || type;
      body = encode ? encode(res[key]) : String(res[key]);
    }
  }
  if (res.location) { statusCode = statusCode || 302; headers.location = res.location; }
  if (res.type) headers['content-type'] = res.type;
  if (res.cacheControl) headers['cache-control'] = res.cacheControl;
  if (res.cors) headers['access-control-allow-origin'] = '*';
  const out = { statusCode: statusCode || 200, headers };
  if (res.cookie) out.cookies = [res.cookie];
  if (res.cookies) out.cookies = res.cookies;
  if (body !== undefined) out.body = typeof body === 'string' ? body : JSON.stringify(body);
  if (res.isBase64Encoded) out.isBase64Encoded = true;
  return out;
}

// Middleware: each function gets the request (and context); returning a response ends
// the chain, returning the request (or nothing) passes it on. Functions written in the
// older (req, res, next) style work too.
function http(...fns) {
  if (!fns.length) throw new Error('arc.http requires at least one function');
  return async function (event, context) {
    let req = request(event);
    for (const fn of fns) {
      let result;
      if (fn.length >= 3) {
        result = await new Promise((resolve, reject) => {
          try { fn(req, (res) => resolve({ response: res }), () => resolve(undefined)); } catch (e) { reject(e); }
        });
        if (result) return response(result.response);
        continue;
      }
      result = await fn(req, context);
      if (result === undefined || result === req) continue;
      if (result && typeof result === 'object' && result.requestContext !== undefined && result.statusCode === undefined) { req = result; continue; }
      return response(result);
    }
    throw new Error('arc.http: no function in the chain returned a response');
  };
}
http.async = http;
http.helpers = { bodyParser: parseBody, url: (p) => p };

module.exports = {
  events,
  queues,
  http,
  static: (path) => `/_static/${String(path).replace(/^\//, '')}`,
  tables() { throw new Error('arc.tables is not available in the sandbox (no DynamoDB); see the README'); },
};
