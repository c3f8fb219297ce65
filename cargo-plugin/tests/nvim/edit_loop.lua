-- Neovim's own LSP client against `cargo lockstep lsp`: open a fixture file, wait for the
-- findings, add a double lock and save, wait for it, undo and save, wait for it to go.
-- Inputs come from the environment; each step writes one line to LOCKSTEP_OUT, a failure
-- writes `FAIL <why>` and exits with status 1.
local bin = os.getenv("LOCKSTEP_BIN")
local root = os.getenv("LOCKSTEP_ROOT")
local file = os.getenv("LOCKSTEP_FILE")
local out = assert(io.open(os.getenv("LOCKSTEP_OUT"), "w"))
local timeout = 60000

local function log(s)
  out:write(s .. "\n")
  out:flush()
end

local function fail(why)
  log("FAIL " .. why)
  vim.cmd("cquit 1")
end

vim.cmd("edit " .. vim.fn.fnameescape(file))
local buf = vim.api.nvim_get_current_buf()
local client_id = vim.lsp.start_client({
  name = "lockstep",
  cmd = { bin, "lockstep", "lsp" },
  root_dir = root,
})
if not client_id then
  fail("the client did not start")
end
vim.lsp.buf_attach_client(buf, client_id)

-- lockstep's diagnostics of the buffer with code `lint` (all of them when nil), as
-- "line:code" strings in order
local function found(lint)
  local seen = {}
  for _, d in ipairs(vim.diagnostic.get(buf)) do
    local code = d.code
    if code == nil and d.user_data and d.user_data.lsp then
      code = d.user_data.lsp.code
    end
    if d.source == "lockstep" and (lint == nil or code == lint) then
      table.insert(seen, (d.lnum + 1) .. ":" .. tostring(code))
    end
  end
  table.sort(seen)
  return seen
end

local function wait_for(what, cond)
  if not vim.wait(timeout, cond, 20) then
    fail("timed out waiting for " .. what .. "; shown: " .. table.concat(found(nil), " "))
  end
end

wait_for("the findings on open", function()
  return #found(nil) > 0
end)
local before = found(nil)
log("open " .. table.concat(before, " "))
local doubles = #found("double_lock")

local last = vim.api.nvim_buf_line_count(buf)
vim.api.nvim_buf_set_lines(buf, last, last, false, {
  "impl Iface {",
  "    pub fn twice(&self) -> u32 {",
  "        self.routes.lock(|_| self.routes.lock(|r| *r.borrow()))",
  "    }",
  "}",
})
vim.cmd("write")
wait_for("the new double lock", function()
  return #found("double_lock") > doubles
end)
log("edit " .. table.concat(found("double_lock"), " "))

vim.cmd("undo")
vim.cmd("write")
wait_for("the double lock to go", function()
  return #found("double_lock") == doubles
end)
log("undo " .. table.concat(found(nil), " "))

vim.lsp.stop_client(client_id)
vim.cmd("qall!")
