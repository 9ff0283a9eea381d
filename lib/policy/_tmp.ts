import { compileCondition, runCondition, toCelTimestamp } from "./cel";
const tests = ["request.path.startsWith('/admin')", "request.time.getHours('Europe/Berlin') >= 9 && request.time.getHours('Europe/Berlin') < 17", "request.foo == 1", "request.path.startsWith(1)", "nope", "request.path.matches('(a')", "'accessPolicies/1/accessLevels/corp' in request.auth.access_levels", "size(request.auth.access_levels) > 0", "resource.name.extract('projects/{p}/') == 'demo'", "inIpRange(destination.ip, '10.0.0.0/8')", "request.path", "request.path.startsWith('/a') &&", "request.auth.access_levels.exists(l, l.startsWith('x'))", "request.time < timestamp('bad')", "request.host.lowerAscii() == 'x'", "has(request.host) && request.host == 'x'",
"request.time.getHours('Europe/Berlin') > 8 && request.time.getHours('Europe/Berlin') > 8 && request.time.getHours('Europe/Berlin') > 8 && request.time.getHours('Europe/Berlin') > 8 && request.time.getHours('Europe/Berlin') > 8 && request.time.getHours('Europe/Berlin') > 8 && request.time.getHours('Europe/Berlin') > 8 && request.time.getHours('Europe/Berlin') > 8 && request.time.getHours('Europe/Berlin') > 8 && request.time.getHours('Europe/Berlin') > 8 && request.time.getHours('Europe/Berlin') > 8 && request.time.getHours('Europe/Berlin') > 8 && request.time.getHours('Europe/Berlin') > 8 && request.time.getHours('Europe/Berlin') > 8",
"\n  request.path.startsWith('/x') && bogus.y"];
for (const t of tests) {
  const r = compileCondition(t);
  if (!r.ok) { console.log("ERR", t.slice(0, 60), JSON.stringify(r.errors)); continue; }
  const act = { request: { time: toCelTimestamp(new Date("2024-01-01T10:00:00Z")), path: "/admin/x", host: "a.b", method: "GET", auth: { access_levels: ["accessPolicies/1/accessLevels/corp"] } }, resource: { name: "projects/demo/iap_web", type: "t", service: "s" }, destination: { ip: "10.1.1.1", port: 22n } };
  console.log("OK ", t.slice(0, 60), JSON.stringify(runCondition(r.value, act)), r.value.accessLevelRefs, r.value.usesPath, r.value.cost);
}
const c = compileCondition("request.host == 'x'");
if (c.ok) console.log(JSON.stringify(runCondition(c.value, { request: { path: "/" } })));
