// Interoperability with a client we did not write: the official MCP
// TypeScript SDK drives `hive mcp` over stdio and /mcp of `hive serve` over
// Streamable HTTP. The SDK checks every structured result against the
// tool's output schema, so this also checks hive's schemas.
// usage: node check.mjs HIVE REPO SEED_ID MCP_URL
// Prints "ok: ..." lines; at the first thing that does not hold prints
// "FAIL: ..." and exits 1.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const [hive, repo, seed, url] = process.argv.slice(2);
const fail = (msg) => {
  console.log(`FAIL: ${msg}`);
  process.exit(1);
};
const ok = (msg) => console.log(`ok: ${msg}`);
const text = (r) => (r.content ?? []).map((c) => c.text ?? "").join("\n");
process.on("unhandledRejection", (e) => fail(`unexpected: ${e}`));
const timer = setTimeout(() => fail("no answer within 120 s"), 120000);

async function connect(transport, what) {
  const client = new Client({ name: "hive-interop", version: "1.0.0" });
  try {
    await client.connect(transport);
  } catch (e) {
    fail(`connect to ${what}: ${e}`);
  }
  return client;
}

async function call(c, name, args) {
  try {
    return await c.callTool({ name, arguments: args });
  } catch (e) {
    fail(`${name}(${JSON.stringify(args)}) threw ${e}: bad arguments must be tool errors, and results must fit the output schema`);
  }
}

async function expectError(c, name, args, code) {
  const r = await call(c, name, args);
  if (!r.isError || !text(r).startsWith(code + ": ")) fail(`${name}(${JSON.stringify(args)}) = ${JSON.stringify(r)}, want a tool error starting ${code}`);
}

// 1. stdio, read-only
const stderr = [];
let t = new StdioClientTransport({ command: hive, args: ["--repo", repo, "mcp"], env: process.env, stderr: "pipe" });
t.stderr?.on("data", (d) => stderr.push(String(d)));
let c = await connect(t, "hive mcp");
const tools = (await c.listTools()).tools;
const names = tools.map((x) => x.name).sort().join(",");
if (names !== "get_skill,search_skills,skill_lineage,use_skill") fail(`tools ${names}`);
for (const x of tools) {
  if (!x.description || x.inputSchema?.type !== "object" || x.outputSchema?.type !== "object") fail(`tool ${x.name}: description or schemas missing`);
  if (!x.annotations?.readOnlyHint) fail(`tool ${x.name} is not marked read-only`);
}
ok(`tools over stdio: ${names}`);

let r = await call(c, "search_skills", { query: "use environment variables for auth", limit: 5 });
if (r.isError || r.structuredContent?.skills?.[0]?.id !== seed) fail(`search_skills: ${text(r)}`);
const hit = r.structuredContent.skills[0];
for (const k of ["intent", "score", "instance_id", "reputation", "confidence", "verification_score", "lineage_size", "trusted", "why"]) {
  if (!(k in hit)) fail(`search_skills' hit lacks ${k}`);
}
ok("search_skills finds the seed, with reputation, trust and lineage size");

r = await call(c, "get_skill", { id: seed.slice(7, 19) });
if (r.isError || r.structuredContent?.trace?.intent !== "Refactor auth to use env vars" || r.structuredContent?.provenance?.verified !== true) {
  fail(`get_skill: ${text(r)}`);
}
if (!r.structuredContent.provenance.cosign.startsWith("cosign verify-blob --key keys/instance_a.pub")) fail("get_skill: no cosign command");
ok("get_skill by prefix: the trace, signature verified, introducing commit " + r.structuredContent.provenance.commit.slice(0, 12));

r = await call(c, "use_skill", { intent: "Refactor auth to use env vars" });
if (r.isError || r.structuredContent.found !== false || !r.structuredContent.why.includes("none is trusted")) fail(`use_skill: ${text(r)}`);
ok("use_skill under a policy that trusts no one here: nothing, and why");

r = await call(c, "skill_lineage", { id: seed });
if (r.isError || r.structuredContent.ancestors.length !== 0) fail(`skill_lineage: ${text(r)}`);

await expectError(c, "search_skills", { query: 42 }, "arguments-invalid");
await expectError(c, "search_skills", { query: "x", limit: 1000 }, "arguments-invalid");
await expectError(c, "get_skill", {}, "arguments-invalid");
await expectError(c, "get_skill", { id: "sha256:" + "0".repeat(64) }, "not-found");
await expectError(c, "skill_lineage", { id: "zzz" }, "arguments-invalid");
ok("bad arguments and unknown ids are tool errors with codes");

const tpl = (await c.listResourceTemplates()).resourceTemplates;
if (tpl.length !== 1 || !tpl[0].uriTemplate.startsWith("hive://skills/")) fail(`resource templates ${JSON.stringify(tpl)}`);
const res = await c.readResource({ uri: `hive://skills/${seed}` });
if (JSON.parse(res.contents[0].text).instance_id !== "instance_a") fail(`resource: ${JSON.stringify(res)}`);
ok("hive://skills/{id} reads the trace");
await c.close();

// 2. stdio, publishing as instance_b
t = new StdioClientTransport({ command: hive, args: ["--repo", repo, "mcp", "--instance", "instance_b", "--publish"], env: process.env, stderr: "pipe" });
c = await connect(t, "hive mcp --publish");
if (!(await c.listTools()).tools.some((x) => x.name === "publish_skill")) fail("no publish_skill with --publish");
const child = {
  intent: "Refactor auth to use env vars with a default",
  reasoning_path: [{ step: 1, action: "reuse_skill" }, { step: 2, action: "add_default_value", detail: "os.getenv takes a default" }],
  result: "import os\ndef get_password():\n    return os.getenv('DB_PASSWORD', '')",
  confidence: 0.97,
  verification_score: 0.99,
  lineage: [seed],
};
r = await call(c, "publish_skill", child);
if (r.isError || !/^sha256:[0-9a-f]{64}$/.test(r.structuredContent?.id ?? "")) fail(`publish_skill: ${text(r)}`);
const childID = r.structuredContent.id;
await expectError(c, "publish_skill", { ...child, intent: "another", confidence: 1.5 }, "trace-schema");
await expectError(c, "publish_skill", { ...child, intent: "another", confidence: 0.5 }, "trace-threshold");
await expectError(c, "publish_skill", { ...child, instance_id: "instance_a" }, "arguments-invalid");
ok(`publish_skill ${childID.slice(0, 19)}; bad skills refused with the hive's rule codes`);
await c.close();

// 3. Streamable HTTP at /mcp of hive serve (serving the same hive): read-only, and it sees the new skill
c = await connect(new StreamableHTTPClientTransport(new URL(url)), url);
const httpNames = (await c.listTools()).tools.map((x) => x.name).sort().join(",");
if (httpNames !== names) fail(`tools at ${url}: ${httpNames}`);
r = await call(c, "search_skills", { query: child.intent, limit: 1 });
if (r.isError || r.structuredContent.skills[0]?.id !== childID || r.structuredContent.skills[0].lineage_size !== 1) fail(`search over HTTP: ${text(r)}`);
r = await call(c, "skill_lineage", { id: seed });
if (r.structuredContent.descendants[0]?.id !== childID) fail(`lineage over HTTP: ${text(r)}`);
await expectError(c, "get_skill", { id: 7 }, "arguments-invalid");
ok(`Streamable HTTP at ${url}: the same tools, read-only, and the published child with its lineage`);
await c.close();
clearTimeout(timer);
console.log("interop holds: the official TypeScript SDK drives hive mcp (stdio) and /mcp (Streamable HTTP)");
