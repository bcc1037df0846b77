/** Vite config of the example: the only Daebug-specific line is `daebug()`. */
import { defineConfig } from 'vite';
import daebug from '@daebug/vite-plugin';

export default defineConfig({
  plugins: [daebug()],
});
