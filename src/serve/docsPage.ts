/**
 * GET /docs: the OpenAPI document as one self-contained HTML page (no scripts, nothing fetched from elsewhere):
 * every operation with its id, tag, parameters, request body types and responses.
 */
const esc = (s: unknown): string => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

interface Operation {
  operationId?: string;
  tags?: string[];
  summary?: string;
  security?: unknown[];
  parameters?: { name: string; in: string; description?: string }[];
  requestBody?: { content?: Record<string, unknown> };
  responses?: Record<string, { description?: string }>;
}

export function docsPage(doc: Record<string, unknown>): string {
  const info = (doc['info'] ?? {}) as { title?: string; version?: string; description?: string };
  const paths = (doc['paths'] ?? {}) as Record<string, Record<string, Operation>>;
  const keyed = Array.isArray(doc['security']) && doc['security'].length > 0;
  const rows = Object.entries(paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => {
      const open = !keyed || (Array.isArray(op.security) && op.security.length === 0);
      const params = (op.parameters ?? []).map((p) => `<li><code>${esc(p.name)}</code> (${esc(p.in)}) ${esc(p.description ?? '')}</li>`).join('');
      const body = Object.keys(op.requestBody?.content ?? {}).map((t) => `<code>${esc(t)}</code>`).join(', ');
      const responses = Object.entries(op.responses ?? {}).map(([code, r]) => `<li><b>${esc(code)}</b> ${esc(r.description ?? '')}</li>`).join('');
      return `<section id="${esc(op.operationId ?? path)}"><h2><code>${esc(method.toUpperCase())} ${esc(path)}</code></h2>
<p>${esc(op.summary ?? '')} <small>operationId <code>${esc(op.operationId ?? '')}</code> · ${esc((op.tags ?? []).join(', '))} · ${open ? 'no key' : 'API key'}</small></p>
${params ? `<h3>Parameters</h3><ul>${params}</ul>` : ''}${body ? `<h3>Body</h3><p>${body}</p>` : ''}<h3>Responses</h3><ul>${responses}</ul></section>`;
    }),
  );
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(info.title ?? 'API')} ${esc(info.version ?? '')}</title>
<style>body{font:15px/1.45 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}section{border-top:1px solid #ccc}small{color:#555}</style></head>
<body><h1>${esc(info.title ?? 'API')} <small>${esc(info.version ?? '')}</small></h1><p>${esc(info.description ?? '')}</p>
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1).${keyed ? ' Send the key as <code>Authorization: Bearer &lt;key&gt;</code> or <code>X-API-Key: &lt;key&gt;</code>.' : ''}</p>
${rows.join('\n')}</body></html>`;
}
