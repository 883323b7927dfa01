/** The three ways an agent speaks OpAMP to this server. */
export type TransportKind = 'websocket' | 'http' | 'grpc';
