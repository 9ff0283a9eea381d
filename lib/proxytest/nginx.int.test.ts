// Issue 4 proof with Debian's nginx (`auth_request`), configured from docs/proxies/nginx.conf.
import { defineProxySuite } from "./cases";

defineProxySuite("nginx");
