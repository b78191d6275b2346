// Evaluates access requests with @cloud-copilot/iam-simulate, all in this one process: a JSON list of simulations on
// standard input, a JSON list of results on standard output. Argument: the folder whose node_modules holds the
// simulator (test-only; AGPL-3.0, never shipped with the app).
//
// Each request is validated by runSimulation (policies, action, resource type, the context keys the action takes).
// iam-simulate 0.1.173 drops `kms:EncryptionContext:<key>` from a request as a key the action does not take (its
// match of variable keys expects a `/`); such a request is decided by runUnsafeSimulation with the whole context.
// Every other request is decided by both entry points, which must agree.
"use strict";
const path = require("node:path");
const { createRequire } = require("node:module");

const requireFrom = createRequire(path.join(path.resolve(process.argv[2]), "package.json"));
const { runSimulation, runUnsafeSimulation } = requireFrom("@cloud-copilot/iam-simulate");
const { createValidatedPolicy, validateResourcePolicy } = requireFrom("@cloud-copilot/iam-policy");

const ENCRYPTION_CONTEXT = /^kms:encryptioncontext:/i;

function simulation(request, resourcePolicy) {
  return {
    request: {
      principal: request.principal === null ? { type: "Anonymous" } : request.principal,
      action: request.action,
      resource: { resource: request.resource, accountId: request.accountId },
      contextVariables: request.context,
    },
    identityPolicies: request.identityPolicies.map((policy, index) => ({ name: `identity${index}`, policy })),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy,
  };
}

async function evaluate(request) {
  const checked = await runSimulation(simulation(request, request.resourcePolicy || undefined), {});
  if (checked.resultType === "error") {
    return { error: JSON.stringify(checked.errors) };
  }
  const ignored = checked.result ? checked.result.ignoredContextKeys || [] : [];
  const unexpected = ignored.filter((key) => !ENCRYPTION_CONTEXT.test(key));
  const validated = request.resourcePolicy
    ? createValidatedPolicy(request.resourcePolicy, validateResourcePolicy, { name: "resource" })
    : undefined;
  const whole = runUnsafeSimulation(simulation(request, validated), {});
  if (ignored.length === 0 && whole !== checked.overallResult) {
    return { error: `the two entry points disagree: ${checked.overallResult} and ${whole}` };
  }
  return { decision: ignored.length ? whole : checked.overallResult, ignored: unexpected };
}

async function main() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const requests = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  const results = [];
  for (const request of requests) {
    try {
      results.push(await evaluate(request));
    } catch (error) {
      results.push({ error: String(error && error.stack ? error.stack : error) });
    }
  }
  process.stdout.write(JSON.stringify(results));
}

main().catch((error) => {
  process.stderr.write(String(error && error.stack ? error.stack : error));
  process.exit(1);
});
