/** An agent's message that breaks the protocol's rules (undecodable, a bad instance_uid, …): answered BAD_REQUEST, never a crash. */
export class MalformedMessageError extends Error {}
