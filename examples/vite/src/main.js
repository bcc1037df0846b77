/** The example app: shows a message (edit message.js to see HMR) and a click counter. */
import { message } from './message.js';

const out = document.getElementById('message');
out.textContent = message;

let clicks = 0;
document.getElementById('count').addEventListener('click', (e) => {
  clicks += 1;
  e.target.textContent = `clicked ${clicks} times`;
});

if (import.meta.hot) {
  import.meta.hot.accept('./message.js', (mod) => {
    out.textContent = mod.message;
  });
}

console.log('vite example started');
