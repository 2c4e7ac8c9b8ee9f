// Records the visit with the browser's microphone (MediaRecorder) and sends it to the page's form
// address; the server answers with the recording's page, where transcription progress is shown.
(function () {
  const box = document.getElementById("recorder");
  if (!box) return;
  const start = document.getElementById("record-start");
  const stop = document.getElementById("record-stop");
  const status = document.getElementById("record-status");
  let recorder = null;
  let chunks = [];
  let began = 0;
  let timer = null;

  function say(text, isError) {
    status.textContent = text;
    status.classList.toggle("error", Boolean(isError));
  }

  function kind() {
    for (const type of ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/webm"]) {
      if (window.MediaRecorder && MediaRecorder.isTypeSupported(type)) return type;
    }
    return "";
  }

  async function send(blob) {
    say("Sending the recording…");
    const form = new FormData();
    const extension = blob.type.includes("ogg") ? "ogg" : "webm";
    form.append("audio", blob, "visit." + extension);
    form.append("csrfmiddlewaretoken", box.dataset.csrf);
    try {
      const response = await fetch(box.dataset.url, {method: "POST", body: form,
                                                      headers: {"X-Requested-With": "fetch"}});
      const answer = await response.json();
      if (response.ok && answer.url) {
        window.location.assign(answer.url);
      } else {
        say(answer.error || "The recording was not accepted.", true);
        start.disabled = false;
      }
    } catch (problem) {
      say("The recording could not be sent (" + problem + "): try again, or upload the file below.", true);
      start.disabled = false;
    }
  }

  start.addEventListener("click", async function () {
    if (!navigator.mediaDevices || !window.MediaRecorder) {
      say("This browser cannot record: upload an audio file instead.", true);
      return;
    }
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({audio: true});
    } catch (problem) {
      say("The microphone could not be used (" + problem.name + "): allow it for this site, or upload a file.", true);
      return;
    }
    chunks = [];
    const type = kind();
    recorder = new MediaRecorder(stream, type ? {mimeType: type} : undefined);
    recorder.addEventListener("dataavailable", function (event) { if (event.data.size) chunks.push(event.data); });
    recorder.addEventListener("stop", function () {
      stream.getTracks().forEach(function (track) { track.stop(); });
      clearInterval(timer);
      send(new Blob(chunks, {type: recorder.mimeType || "audio/webm"}));
    });
    recorder.start(1000);
    began = Date.now();
    start.disabled = true;
    stop.disabled = false;
    say("Recording… 0 s");
    timer = setInterval(function () { say("Recording… " + Math.round((Date.now() - began) / 1000) + " s"); }, 1000);
  });

  stop.addEventListener("click", function () {
    stop.disabled = true;
    if (recorder && recorder.state !== "inactive") recorder.stop();
  });
})();
