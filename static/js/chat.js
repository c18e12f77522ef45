// The Chat page: keep the newest message in view, Enter sends, the phone list toggle.
(() => {
  const log = () => document.getElementById("chat-log");
  const toBottom = () => {
    const el = log();
    if (el) el.scrollTop = el.scrollHeight;
  };
  let follow = true;  // stop following while the reader scrolls up to read older messages
  document.addEventListener("scroll", (event) => {
    const el = event.target;
    if (el && el.id === "chat-log") follow = el.scrollHeight - el.scrollTop - el.clientHeight < 80;
  }, true);
  document.addEventListener("DOMContentLoaded", toBottom);
  document.addEventListener("htmx:afterSettle", (event) => {
    if (event.target && (event.target.id === "chat-main" || event.target.closest?.("#chat-log"))) {
      if (event.target.id === "chat-main") follow = true;
      if (follow) toBottom();
    }
  });
  document.addEventListener("keydown", (event) => {
    const box = event.target;
    if (!box || box.id !== "chat-input" || event.key !== "Enter" || event.shiftKey || event.isComposing) return;
    event.preventDefault();
    if (box.value.trim()) box.form.requestSubmit();
  });
  // The note under the model picker follows the picked model (its prices and description).
  document.addEventListener("change", (event) => {
    const select = event.target;
    if (!select || select.dataset.testid !== "chat-model") return;
    const note = document.querySelector("[data-testid=chat-price]");
    const option = select.selectedOptions[0];
    if (note && option && option.dataset.note) note.textContent = option.dataset.note;
  });
  document.addEventListener("click", (event) => {
    if (!event.target.closest("[data-toggle-chat-list]")) return;
    document.querySelector(".chat-side")?.classList.toggle("show-list");
  });
})();
