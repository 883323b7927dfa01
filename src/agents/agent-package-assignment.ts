/** A package version named for agents (on a group's spec or an agent's own assignment), issue 21. */
export interface PackageRef {
  /** The package's name in the catalogue. */
  name: string;
  /** A semantic version catalogued for it. */
  version: string;
  /** Offer it even where it is older than the version the agent runs (a downgrade); forward-only otherwise. */
  force?: boolean;
}

/** An agent's own packages, set through `PUT /api/v1/agents/{id}/packages`: each overrides its group's package of the same name. */
export interface AgentPackageAssignment {
  packages: PackageRef[];
  assignedAt?: Date;
}
