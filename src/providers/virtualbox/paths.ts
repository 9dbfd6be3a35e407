// The VirtualBox provider's own files: only a cache, since its machines live on the server.
import { join } from 'node:path';
import { homePaths } from '../../state/paths.js';

/** The web service's WSDL trimmed to what boxfest uses: <api>-<operations key>/{vboxweb.wsdl, vboxwebService.wsdl, signatures.json}. */
export const vboxWsdlPaths = (home: string) => {
  const dir = join(homePaths(home).cache, 'virtualbox-wsdl');
  return {
    dir,
    /** Server URL → the API version it last reported, so the right cached WSDL loads first. */
    index: join(dir, 'servers.json'),
    version: (api: string, operationsKey: string) => join(dir, `${api}-${operationsKey}`),
  };
};
