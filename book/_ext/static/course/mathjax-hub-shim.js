// The widgets HTML manager typesets widget labels with the MathJax 2 API
// (MathJax.Hub.Queue). The book loads MathJax 3, which has no Hub: give it one that
// forwards to MathJax 3's typesetPromise, so widget labels with math still render.
(function () {
  var mj = window.MathJax;
  if (mj && !mj.Hub && typeof mj.typesetPromise === "function") {
    mj.Hub = {
      Queue: function (job) {
        var element = Array.isArray(job) ? job[2] : undefined;
        mj.typesetPromise(element ? [element] : undefined).catch(function () {});
      },
    };
  }
})();
