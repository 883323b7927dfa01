import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { apiUpload } from '../api';
import type { AgentPackage } from '../types';
import { sha256OfFile } from '../sha256';
import { ProblemMessage } from './ProblemMessage';

/**
 * Uploads a file of a package version (PUT /packages/NAME@VERSION/files/FILE), creating the
 * version when it is new. What the API refuses (too large, a hash or signature that does not
 * verify, a bad name) is shown as it says it, and nothing is stored.
 */
export function UploadPackageForm({ fixedName, onUploaded }: { fixedName?: string; onUploaded?: (p: AgentPackage) => void }) {
  const client = useQueryClient();
  const [name, setName] = useState(fixedName ?? '');
  const [version, setVersion] = useState('');
  const [file, setFile] = useState<File>();
  const [signature, setSignature] = useState('');
  const [platform, setPlatform] = useState('');
  const [type, setType] = useState<'top-level' | 'addon'>('top-level');
  const [inputKey, setInputKey] = useState(0);
  const upload = useMutation({
    mutationFn: async () => {
      const id = `${name.trim()}@${version.trim()}`;
      // Hashed a slice at a time (never the whole file in memory); the server checks the bytes it stores against it.
      const sha256 = await sha256OfFile(file!);
      return apiUpload<AgentPackage>(`/packages/${encodeURIComponent(id)}/files/${encodeURIComponent(file!.name)}`, file!, {
        sha256,
        signature: signature.trim() || undefined,
        platform: platform.trim() || undefined,
        type,
      });
    },
    onSuccess: async (p) => {
      setVersion('');
      setFile(undefined);
      setSignature('');
      setInputKey((k) => k + 1);
      await client.invalidateQueries({ queryKey: ['packages'] });
      await client.invalidateQueries({ queryKey: ['fleet-packages'] });
      onUploaded?.(p);
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (file) upload.mutate();
  };
  return (
    <form className="form upload-form" onSubmit={submit} aria-labelledby="h-upload">
      <h2 id="h-upload">{fixedName ? `Upload a version of ${fixedName}` : 'Upload a package'}</h2>
      {!fixedName && (
        <label>
          Package name
          <input name="package" required value={name} onChange={(e) => setName(e.target.value)} placeholder="otelcol-contrib" spellCheck={false} />
        </label>
      )}
      <label>
        Version
        <input name="version" required value={version} onChange={(e) => setVersion(e.target.value)} placeholder="0.149.0" spellCheck={false} />
      </label>
      <label>
        File
        <input key={inputKey} name="file" type="file" required onChange={(e) => setFile(e.target.files?.[0])} />
      </label>
      <label>
        Signature (base64, optional)
        <textarea name="signature" rows={2} value={signature} onChange={(e) => setSignature(e.target.value)} spellCheck={false} />
      </label>
      <label>
        Platform (optional)
        <input name="platform" value={platform} onChange={(e) => setPlatform(e.target.value)} placeholder="linux/amd64" spellCheck={false} />
      </label>
      <label>
        Type
        <select name="type" value={type} onChange={(e) => setType(e.target.value as 'top-level' | 'addon')}>
          <option value="top-level">top-level (the agent itself)</option>
          <option value="addon">addon</option>
        </select>
      </label>
      <ProblemMessage error={upload.error} />
      {upload.isSuccess && (
        <p role="status">
          Uploaded {upload.data.metadata.name} ({upload.data.status.fileCount} file{upload.data.status.fileCount === 1 ? '' : 's'}).
        </p>
      )}
      <button type="submit" disabled={upload.isPending || !file}>
        {upload.isPending ? 'Uploading…' : 'Upload'}
      </button>
    </form>
  );
}
