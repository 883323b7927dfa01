import { contentTypeFor } from './content-types';

describe('content type from file extension', () => {
  it('knows configuration formats and falls back to text/plain', () => {
    expect(contentTypeFor('collector.yaml')).toBe('application/yaml');
    expect(contentTypeFor('/x/COLLECTOR.YML')).toBe('application/yaml');
    expect(contentTypeFor('agent.json')).toBe('application/json');
    expect(contentTypeFor('agent.toml')).toBe('application/toml');
    expect(contentTypeFor('fluent.conf')).toBe('text/plain');
    expect(contentTypeFor('noext')).toBe('text/plain');
  });
});
