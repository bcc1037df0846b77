export const message = 'Hello from esbuild.';
