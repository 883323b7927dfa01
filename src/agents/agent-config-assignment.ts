/** A per-agent configuration set through `PUT /api/v1/agents/{id}/update-agent-config`. */
export interface AgentConfigAssignment {
  /** Entries taken from remote configs (a revision, or the latest when absent). */
  configs?: { fileName: string; remoteConfig: string; revision?: number }[];
  /** Entries given inline. */
  files?: { fileName: string; contentType: string; body: string }[];
  assignedAt?: Date;
}
