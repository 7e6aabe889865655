# The worked example that is not LeNet (issue 14): the shipped ResNet .pt2 from the shell only -> reports/resnet-mnist
.PHONY: example-resnet

example-resnet: $(STAMP)
	PYCOMPRESS=$(BIN)/pycompress PYTHON=$(PY) examples/resnet_mnist/run.sh build/resnet-mnist reports/resnet-mnist

# Your model, all the way (issue 24): a Tanh and a GELU CNN through generate + csim, a colour CNN with global
# average pooling through rtl + rtlsim, each against the user's own .pt2
.PHONY: example-your-model

example-your-model: $(STAMP)
	PYCOMPRESS=$(BIN)/pycompress PYTHON=$(PY) examples/your_model/run.sh build/your-model
