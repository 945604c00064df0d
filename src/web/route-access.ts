import type { FastifyInstance } from 'fastify';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * How the route is gated. 'public': open to anyone by design (sign-in form, assets, public pages are
     * further filtered by classification). 'policy': the handler asks the permission policy for every
     * resource it touches. Every route must declare one; registering a route without it fails at start.
     */
    access?: 'public' | 'policy';
    /**
     * false: only for routes that authenticate without cookies (no ambient credentials to forge).
     * 'signed-out-form': the sign-in form, whose token is bound to its own cookie even if a session exists.
     */
    csrf?: false | 'signed-out-form';
  }
}

export interface RouteInventoryEntry {
  method: string;
  url: string;
  access: 'public' | 'policy' | undefined;
}

/** Refuse to register any route that does not declare its access, and keep an inventory for tests. */
export function enforceRouteAccess(app: FastifyInstance): RouteInventoryEntry[] {
  const inventory: RouteInventoryEntry[] = [];
  app.addHook('onRoute', (route) => {
    const access = (route.config)?.access;
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) inventory.push({ method, url: route.url, access });
    if (access !== 'public' && access !== 'policy') {
      throw new Error(`route ${methods.join(',')} ${route.url} does not declare config.access`);
    }
  });
  return inventory;
}
