// Compiled with `tsc --strict` against the types generated from openapi/openapi.json: if the
// document's shapes stop making sense to a TypeScript client, this stops compiling.
import type { components, paths } from "./schema";

type Summary = components["schemas"]["AssessmentSummary"];
type Gate = components["schemas"]["GateTest"];
type Listing = paths["/v1/assessments"]["get"]["responses"][200]["content"]["application/json"];

export function programOf(row: Summary): string {
  return row.program_key ? `${row.program_key} · ${row.program_name ?? ""}` : "No program";
}

// The discriminator narrows a gate test by its `kind`.
export function describeGate(gate: Gate): string {
  return gate.kind === "factor_at_least" ? `factor at least ${gate.min_value}` : gate.kind;
}

export function firstRow(page: Listing): Summary | undefined {
  return page.items[0];
}
