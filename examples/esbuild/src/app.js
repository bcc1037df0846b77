/** The example app: shows a message; edit message.js and the page reloads with the rebuild. */
import { message } from './message.js';

document.getElementById('message').textContent = message;
console.log('esbuild example started');

// esbuild's live reload: reload when a rebuild changed the output.
new EventSource('/esbuild').addEventListener('change', () => location.reload());
