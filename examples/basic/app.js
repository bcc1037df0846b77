// A tiny app with state worth inspecting from daebug/<realm>.md:
//   document.querySelector('#inc').click(); counter.value
export const counter = { value: 0 };
globalThis.counter = counter;

document.querySelector('#inc').addEventListener('click', () => {
  counter.value += 1;
  document.querySelector('#count').textContent = String(counter.value);
  console.log('clicked', counter.value);
});
