/**
 * The shipped nginx example (`examples/nginx/vigil-auth.conf`) pointed at a test's own ports, inside
 * a self-contained nginx.conf that runs in the foreground from a temporary prefix (no root, no
 * system paths). Used by the nginx integration test and by `npm run bench access`, so both exercise
 * the configuration hospitals copy.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const NGINX_EXAMPLE = fileURLToPath(new URL('../../examples/nginx/vigil-auth.conf', import.meta.url));

export interface NginxExamplePorts {
  /** Where nginx listens for the protected application. */
  listen: number;
  /** Vigil's HTTP port (the auth_request target and the portal). */
  vigil: number;
  /** The protected application. */
  upstream: number;
}

/**
 * A whole nginx.conf for `nginx -p dir -c file`: the example site with its ports and server name
 * replaced, plus `extra` (more server blocks) inside `http`. `dir` needs a `tmp/` folder. Throws when
 * the example no longer has the lines it rewrites, rather than testing something else.
 */
export function nginxExampleConfig(
  dir: string,
  ports: NginxExamplePorts,
  serverName: string,
  extra = '',
  workerConnections = 1024,
): string {
  const site = readFileSync(NGINX_EXAMPLE, 'utf8')
    .replace('server 127.0.0.1:8080;', `server 127.0.0.1:${ports.vigil};`)
    .replace('server 127.0.0.1:9000;', `server 127.0.0.1:${ports.upstream};`)
    .replace(/listen 80;/, `listen 127.0.0.1:${ports.listen};`)
    .replace('server_name ehr.hospital.org;', `server_name ${serverName};`);
  if (site.includes('127.0.0.1:8080') || !site.includes(`127.0.0.1:${ports.listen}`))
    throw new Error(`${NGINX_EXAMPLE} changed: cannot point it at the test's ports`);
  return `daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections ${workerConnections}; }
http {
  access_log off;
  client_body_temp_path ${dir}/tmp/body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;
${site}${extra}}
`;
}
