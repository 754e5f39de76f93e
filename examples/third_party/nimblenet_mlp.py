# ruff: noqa
# Third-party code: nimblenet, a from-scratch NumPy network library whose backpropagation updates its own weights.
#
# Source    nimblenet 0.2.1 as published on PyPI (pip download nimblenet==0.2.1, the sdist), whose files are
#           identical to tag 0.2.1 (commit 1fab786db88c0dcfbd8a054e8dc440b11b095f60, 2016-07-29) of
#           https://github.com/jorgenkg/python-neural-network. Files, in this order: nimblenet/activation_functions.py,
#           cost_functions.py, tools.py, data_structures.py, learning_algorithms/commons/utils.py, neuralnet.py,
#           learning_algorithms/backpropagation/base.py and variations.py.
# Author    Jørgen Grimnes
# Licence   BSD-2-Clause: LICENSE.txt of the repository at tag 0.2.1 (the sdist ships no licence file):
#
#     Copyright (c) 2014, Jørgen Grimnes
#     All rights reserved.
#
#     Redistribution and use in source and binary forms, with or without
#     modification, are permitted provided that the following conditions are met:
#
#     * Redistributions of source code must retain the above copyright notice, this
#       list of conditions and the following disclaimer.
#
#     * Redistributions in binary form must reproduce the above copyright notice,
#       this list of conditions and the following disclaimer in the documentation
#       and/or other materials provided with the distribution.
#
#     THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS IS"
#     AND ANY EXPRESS OR IMPLIED WARRANTIES, INCLUDING, BUT NOT LIMITED TO, THE
#     IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS FOR A PARTICULAR PURPOSE ARE
#     DISCLAIMED. IN NO EVENT SHALL THE COPYRIGHT HOLDER OR CONTRIBUTORS BE LIABLE
#     FOR ANY DIRECT, INDIRECT, INCIDENTAL, SPECIAL, EXEMPLARY, OR CONSEQUENTIAL
#     DAMAGES (INCLUDING, BUT NOT LIMITED TO, PROCUREMENT OF SUBSTITUTE GOODS OR
#     SERVICES; LOSS OF USE, DATA, OR PROFITS; OR BUSINESS INTERRUPTION) HOWEVER
#     CAUSED AND ON ANY THEORY OF LIABILITY, WHETHER IN CONTRACT, STRICT LIABILITY,
#     OR TORT (INCLUDING NEGLIGENCE OR OTHERWISE) ARISING IN ANY WAY OUT OF THE USE
#     OF THIS SOFTWARE, EVEN IF ADVISED OF THE POSSIBILITY OF SUCH DAMAGE.
#
# Changes   The package's modules are joined into this one file, their imports gathered at the top (the relative
#           imports between them fall away). Left out, as unrelated to training by backpropagation: tools.print_test,
#           learning_algorithms.commons.utils.apply_regularizers, and NeuralNet's error, gradient, check_gradient,
#           predict, save_network_to_file and load_network_from_file (the scipy, SCG and gradient-check paths).
#           Python 3 / NumPy 2 (a comment on the line says so, except for print): print statements become
#           print(), xrange becomes range, raw_input becomes input, range() becomes list(range()) where it is
#           shuffled, `target != None` becomes `target is not None` (elementwise on an array in NumPy 2), and
#           max_iterations' default () (which Python 2 ranks above every int: "no limit") becomes float("inf").
#           No other line is changed.
#
# Known deviation kept as published (not reported upstream, as far as the issue search shows): Adam below has no
# bias correction: it steps by m / (sqrt(v) + eps) with the raw moment estimates, where Kingma and Ba's Adam (and
# torch.optim.Adam) divide m by 1 - beta1^t and v by 1 - beta2^t. Its first step is therefore (1 - beta1) /
# sqrt(1 - beta2) = 3.16 times torch's (with the default betas). See NetAdam at the end.

import collections
import contextlib
import math
import os
import random

import numpy as np

# ---- nimblenet/activation_functions.py -----------------------------------------------------------------------------

try:
    # PYPY hasn't got scipy
    from scipy.special import expit
except:
    expit = lambda x: 1.0 / (1 + np.exp(-x))


def softmax_function( signal, derivative=False ):
    # Calculate activation signal
    e_x = np.exp( signal - np.max(signal, axis=1, keepdims = True) )
    signal = e_x / np.sum( e_x, axis = 1, keepdims = True )
    
    if derivative:
        return np.ones( signal.shape )
    else:
        # Return the activation signal
        return signal
#end activation function


def sigmoid_function( signal, derivative=False ):
    # Prevent overflow.
    signal = np.clip( signal, -500, 500 )
    
    # Calculate activation signal
    signal = expit( signal )
    
    if derivative:
        # Return the partial derivation of the activation function
        return np.multiply(signal, 1 - signal)
    else:
        # Return the activation signal
        return signal
#end activation function


def elliot_function( signal, derivative=False ):
    """ A fast approximation of sigmoid """
    s = 1 # steepness
    
    abs_signal = (1 + np.abs(signal * s))
    if derivative:
        return 0.5 * s / abs_signal**2
    else:
        # Return the activation signal
        return 0.5*(signal * s) / abs_signal + 0.5
#end activation function


def symmetric_elliot_function( signal, derivative=False ):
    """ A fast approximation of tanh """
    s = 1.0 # steepness
    
    abs_signal = (1 + np.abs(signal * s))
    if derivative:
        return s / abs_signal**2
    else:
        # Return the activation signal
        return (signal * s) / abs_signal
#end activation function


def ReLU_function( signal, derivative=False ):
    if derivative:
        return (signal > 0).astype(float)
    else:
        # Return the activation signal
        return np.maximum( 0, signal )
#end activation function


def LReLU_function( signal, derivative=False, leakage = 0.01 ):
    """
    Leaky Rectified Linear Unit
    """
    if derivative:
        # Return the partial derivation of the activation function
        return np.clip(signal > 0, leakage, 1.0)
    else:
        # Return the activation signal
        output = np.copy( signal )
        output[ output < 0 ] *= leakage
        return output
#end activation function


def tanh_function( signal, derivative=False ):
    # Calculate activation signal
    signal = np.tanh( signal )
    
    if derivative:
        # Return the partial derivation of the activation function
        return 1-np.power(signal,2)
    else:
        # Return the activation signal
        return signal
#end activation function


def linear_function( signal, derivative=False ):
    if derivative:
        # Return the partial derivation of the activation function
        return np.ones( signal.shape )
    else:
        # Return the activation signal
        return signal
#end activation function


def softplus_function( signal, derivative=False ):
    if derivative:
        # Return the partial derivation of the activation function
        return np.exp(signal) / (1 + np.exp(signal))
    else:
        # Return the activation signal
        return np.log(1 + np.exp(signal))
#end activation function


def softsign_function( signal, derivative=False ):
    if derivative:
        # Return the partial derivation of the activation function
        return 1. / (1 + np.abs(signal))**2
    else:
        # Return the activation signal
        return signal / (1 + np.abs(signal))
#end activation function


# ---- nimblenet/cost_functions.py -----------------------------------------------------------------------------------

def sum_squared_error( outputs, targets, derivative=False ):
    if derivative:
        return outputs - targets 
    else:
        return 0.5 * np.mean(np.sum( np.power(outputs - targets,2), axis = 1 ))
#end cost function


def hellinger_distance( outputs, targets, derivative=False ):
    """
    The output signals should be in the range [0, 1]
    """
    root_difference = np.sqrt( outputs ) - np.sqrt( targets )
    
    if derivative:
        return root_difference/( np.sqrt(2) * np.sqrt( outputs ))
    else:
        return np.mean(np.sum( np.power(root_difference, 2 ), axis=1) / math.sqrt( 2 ))
#end cost function


def binary_cross_entropy_cost( outputs, targets, derivative=False, epsilon=1e-11 ):
    """
    The output signals should be in the range [0, 1]
    """
    # Prevent overflow
    outputs = np.clip(outputs, epsilon, 1 - epsilon)
    divisor = np.maximum(outputs * (1 - outputs), epsilon)
    
    if derivative:
        return (outputs - targets) / divisor
    else:
        return np.mean(-np.sum(targets * np.log( outputs ) + (1 - targets) * np.log(1 - outputs), axis=1))
#end cost function
cross_entropy_cost = binary_cross_entropy_cost


def softmax_categorical_cross_entropy_cost( outputs, targets, derivative=False, epsilon=1e-11 ):
    """
    The output signals should be in the range [0, 1]
    """
    outputs = np.clip(outputs, epsilon, 1 - epsilon)
    
    if derivative:
        return outputs - targets
    else:
        return np.mean(-np.sum(targets * np.log( outputs ), axis=1))
#end cost function
softmax_neg_loss = softmax_categorical_cross_entropy_cost


# ---- nimblenet/tools.py --------------------------------------------------------------------------------------------

    

def dropout( X, p = 0. ):
    if p != 0:
        retain_p = 1 - p
        X = X * np.random.binomial(1,retain_p,size = X.shape)
        X /= retain_p
    return X
#end  


def add_bias(A):
    # Add a bias value of 1. The value of the bias is adjusted through
    # weights rather than modifying the input signal.
    return np.hstack(( np.ones((A.shape[0],1)), A ))
#end addBias


def confirm( promt='Do you want to continue?' ):
	prompt = '%s [%s|%s]: ' % (promt,'y','n')
	while True:
		ans = input(prompt).lower()  # Python 3: was raw_input
		if ans in ['y','yes']:
			return True
		if ans in ['n','no']:
			return False
		print("Please enter y or n.")
#end


# ---- nimblenet/data_structures.py ----------------------------------------------------------------------------------

class Instance:
    # This is a simple encapsulation of a `input signal : output signal`
    # pair in our training set.
    def __init__(self, features, target = None ):
        self.features = np.array(features)
        
        if target is not None:  # NumPy 2: was `target != None`, elementwise on an array
            self.targets  = np.array(target)
        else:
            self.targets  = None
#endclass Instance


# ---- nimblenet/learning_algorithms/commons/utils.py ----------------------------------------------------------------

def check_network_structure( network, cost_function ):
    assert softmax_function != network.layers[-1][1] or cost_function == softmax_neg_loss,\
        "When using the `softmax` activation function, the cost function MUST be `softmax_neg_loss`."
    assert cost_function != softmax_neg_loss or softmax_function == network.layers[-1][1],\
        "When using the `softmax_neg_loss` cost function, the activation function in the final layer MUST be `softmax`."
#end



def verify_dataset_shape_and_modify( network, dataset ):   
    assert dataset[0].features.shape[0] == network.n_inputs, \
        "ERROR: input size varies from the defined input setting"
    assert dataset[0].targets.shape[0]  == network.layers[-1][0], \
        "ERROR: output size varies from the defined output setting"
    
    data              = np.array( [instance.features for instance in dataset ] )
    targets           = np.array( [instance.targets  for instance in dataset ] )
    
    return data, targets 


# ---- nimblenet/neuralnet.py ----------------------------------------------------------------------------------------

default_settings = {
    # Optional settings
    "weights_low"           : -0.1,     # Lower bound on initial weight range
    "weights_high"          : 0.1,      # Upper bound on initial weight range
    "initial_bias_value"    : 0.01,
}

class NeuralNet:
    def __init__(self, settings ):
        self.__dict__.update( default_settings )
        self.__dict__.update( settings )
        
        assert not softmax_function in map(lambda x: x[1], self.layers) or softmax_function == self.layers[-1][1],\
            "The `softmax` activation function may only be used in the final layer."
        
        # Count the required number of weights. This will speed up the random number generation when initializing weights
        self.n_weights = (self.n_inputs + 1) * self.layers[0][0] +\
                         sum( (self.layers[i][0] + 1) * layer[0] for i, layer in enumerate( self.layers[1:] ) )
        
        # Initialize the network with new randomized weights
        self.set_weights( self.generate_weights( self.weights_low, self.weights_high ) )
        
        # Initalize the bias to 0.01
        for index in range(len(self.layers)):  # Python 3: was xrange
            self.weights[index][:1,:] = self.initial_bias_value
    #end
    
    
    def generate_weights(self, low = -0.1, high = 0.1):
        # Generate new random weights for all the connections in the network
        return np.random.uniform(low, high, size=(self.n_weights,))
    #end
    
    
    def set_weights(self, weight_list ):
        # This is a helper method for setting the network weights to a previously defined list
        # as it's useful for loading a previously optimized neural network weight set.
        # The method creates a list of weight matrices. Each list entry correspond to the 
        # connection between two layers.
        start, stop         = 0, 0
        self.weights        = [ ]
        previous_shape      = self.n_inputs + 1 # +1 because of the bias
        
        for n_neurons, activation_function in self.layers:
            stop           += previous_shape * n_neurons
            self.weights.append( weight_list[ start:stop ].reshape( previous_shape, n_neurons ))
            
            previous_shape  = n_neurons + 1     # +1 because of the bias
            start           = stop
    #end
    
    
    def get_weights(self, ):
        # This will stack all the weights in the network on a list, which may be saved to the disk.
        return [w for l in self.weights for w in l.flat]
    #end
    
    
    def measure_quality(self, training_data, training_targets, cost_function ):
        # perform a forward operation to calculate the output signal
        out = self.update( training_data )
        # calculate the mean error on the data classification
        mean_error = cost_function( out, training_targets ) / float(training_data.shape[0])
        # calculate the numeric range between the minimum and maximum output value
        range_of_predicted_values = np.max(out) - np.min(out)
        # return the measured quality 
        return 1 - (mean_error / range_of_predicted_values)
    #end
    
    
    def update(self, input_values, trace=False ):
        # This is a forward operation in the network. This is how we 
        # calculate the network output from a set of input signals.
        output          = input_values
        
        if trace: 
            derivatives = [ ]        # collection of the derivatives of the act functions
            outputs     = [ output ] # passed through act. func.
        
        for i, weight_layer in enumerate(self.weights):
            # Loop over the network layers and calculate the output
            signal      = np.dot( output, weight_layer[1:,:] ) + weight_layer[0:1,:] # implicit bias
            output      = self.layers[i][1]( signal )
            
            if trace: 
                outputs.append( output )
                derivatives.append( self.layers[i][1]( signal, derivative = True ).T ) # the derivative used for weight update
        
        if trace: 
            return outputs, derivatives
        
        return output
    #end
#end class


# ---- nimblenet/learning_algorithms/backpropagation/base.py ---------------------------------------------------------

def backpropagation_foundation(network, trainingset, testset, cost_function, calculate_dW, evaluation_function = None, ERROR_LIMIT = 1e-3, max_iterations = float("inf"), batch_size = 0, input_layer_dropout = 0.0, hidden_layer_dropout = 0.0, print_rate = 1000, save_trained_network = False, **kwargs):  # Python 3: max_iterations was ()
    check_network_structure( network, cost_function ) # check for special case topology requirements, such as softmax
    
    training_data, training_targets = verify_dataset_shape_and_modify( network, trainingset )
    test_data, test_targets    = verify_dataset_shape_and_modify( network, testset )
    
    
    # Whether to use another function for printing the dataset error than the cost function. 
    # This is useful if you train the network with the MSE cost function, but are going to 
    # classify rather than regress on your data.
    if evaluation_function != None:
        calculate_print_error = evaluation_function
    else:
        calculate_print_error = cost_function
    
    batch_size                 = batch_size if batch_size != 0 else training_data.shape[0] 
    batch_training_data        = np.array_split(training_data, math.ceil(1.0 * training_data.shape[0] / batch_size))
    batch_training_targets     = np.array_split(training_targets, math.ceil(1.0 * training_targets.shape[0] / batch_size))
    batch_indices              = list(range(len(batch_training_data)))  # fast reference to batches (Python 3: a list, to shuffle)
    
    error                      = calculate_print_error(network.update( test_data ), test_targets )
    reversed_layer_indexes     = range( len(network.layers) )[::-1]
    
    epoch                      = 0
    while error > ERROR_LIMIT and epoch < max_iterations:
        epoch += 1
        
        random.shuffle(batch_indices) # Shuffle the order in which the batches are processed between the iterations
        
        for batch_index in batch_indices:
            batch_data                 = batch_training_data[    batch_index ]
            batch_targets              = batch_training_targets[ batch_index ]
            batch_size                 = float( batch_data.shape[0] )
            
            input_signals, derivatives = network.update( batch_data, trace=True )
            out                        = input_signals[-1]
            cost_derivative            = cost_function( out, batch_targets, derivative=True ).T
            delta                      = cost_derivative * derivatives[-1]
            
            for i in reversed_layer_indexes:
                # Loop over the weight layers in reversed order to calculate the deltas
            
                # perform dropout
                dropped = dropout( 
                            input_signals[i], 
                            # dropout probability
                            hidden_layer_dropout if i > 0 else input_layer_dropout
                        )
            
                # calculate the weight change
                dX = (np.dot( delta, add_bias(dropped) )/batch_size).T
                dW = calculate_dW( i, dX )
                
                if i != 0:
                    """Do not calculate the delta unnecessarily."""
                    # Skip the bias weight
                    weight_delta = np.dot( network.weights[ i ][1:,:], delta )
    
                    # Calculate the delta for the subsequent layer
                    delta = weight_delta * derivatives[i-1]
                
                # Update the weights with Nestrov Momentum
                network.weights[ i ] += dW
            #end weight adjustment loop
        
        error = calculate_print_error(network.update( test_data ), test_targets )
        
        if epoch%print_rate==0:
            # Show the current training status
            print("[training] Current error:", error, "\tEpoch:", epoch)
    
    print("[training] Finished:")
    print("[training]   Converged to error bound (%.4g) with error %.4g." % ( ERROR_LIMIT, error ))
    print("[training]   Measured quality: %.4g" % network.measure_quality( training_data, training_targets, cost_function ))
    print("[training]   Trained for %d epochs." % epoch)
    
    if save_trained_network and confirm( promt = "Do you wish to store the trained network?" ):
        network.save_network_to_file()
# end backprop


# ---- nimblenet/learning_algorithms/backpropagation/variations.py ---------------------------------------------------

default_configuration = {
    'ERROR_LIMIT'           : 0.001, 
    'learning_rate'         : 0.03, 
    'batch_size'            : 1, 
    'print_rate'            : 1000, 
    'save_trained_network'  : False,
    'input_layer_dropout'   : 0.0,
    'hidden_layer_dropout'  : 0.0, 
    'evaluation_function'   : None,
    'max_iterations'        : float("inf")  # Python 3: was (), which Python 2 ranks above every int
}

def adagrad(network, trainingset, testset, cost_function, epsilon = 1e-8, **kwargs ):
    configuration = dict(default_configuration)
    configuration.update( kwargs )
    
    learning_rate = configuration["learning_rate"]
    cache         = [ np.zeros( shape = weight_layer.shape ) for weight_layer in network.weights ]
    
    def calculate_dW( layer_index, dX ):
        cache[ layer_index ] += np.power( dX, 2 )
        return -learning_rate * dX / (np.sqrt(cache[ layer_index ]) + epsilon)
    #end
    
    return backpropagation_foundation( network, trainingset, testset, cost_function, calculate_dW, **configuration  )
#end



def RMSprop(network, trainingset, testset, cost_function, decay_rate = 0.99, epsilon = 1e-8, **kwargs  ):
    configuration = dict(default_configuration)
    configuration.update( kwargs )
    
    learning_rate = configuration["learning_rate"]
    cache         = [ np.zeros( shape = weight_layer.shape ) for weight_layer in network.weights ]
    
    def calculate_dW( layer_index, dX ):
        cache[ layer_index ] = decay_rate * cache[ layer_index ] + (1 - decay_rate) * dX**2
        return -learning_rate * dX / (np.sqrt(cache[ layer_index ]) + epsilon)
    #end
    
    return backpropagation_foundation( network, trainingset, testset, cost_function, calculate_dW, **configuration )
#end



def Adam(network, trainingset, testset, cost_function, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8, **kwargs ):
    configuration = dict(default_configuration)
    configuration.update( kwargs )
    
    learning_rate = configuration["learning_rate"]
    m = [ np.zeros( shape = weight_layer.shape ) for weight_layer in network.weights ]
    v = [ np.zeros( shape = weight_layer.shape ) for weight_layer in network.weights ]
    
    def calculate_dW( layer_index, dX ):
        m[ layer_index ] = beta1 * m[ layer_index ] + ( 1 - beta1 ) * dX
        v[ layer_index ] = beta2 * v[ layer_index ] + ( 1 - beta2 ) * ( dX**2 )
        
        return -learning_rate * m[ layer_index ] / ( np.sqrt(v[ layer_index ]) + epsilon )
    #end
    
    return backpropagation_foundation( network, trainingset, testset, cost_function, calculate_dW, **configuration  )
#end



def nesterov_momentum(network, trainingset, testset, cost_function, momentum_factor = 0.9, **kwargs  ):
    configuration = dict(default_configuration)
    configuration.update( kwargs )
    
    learning_rate = configuration["learning_rate"]
    momentum = collections.defaultdict( int )
    
    def calculate_dW( layer_index, dX ):
        dW = -learning_rate * dX + momentum_factor * momentum[ layer_index ]
        weight_change = -momentum_factor * momentum[ layer_index ] + (1 + momentum_factor) * dW
        
        # Store the dW after calculating the weight change since we would like 
        # to use the "previous" momentum.
        momentum[ layer_index ] = dW 
        
        return dW
    #end
    
    return backpropagation_foundation( network, trainingset, testset, cost_function, calculate_dW, **configuration  )
#end



def classical_momentum(network, trainingset, testset, cost_function, momentum_factor = 0.9, **kwargs  ):
    configuration = dict(default_configuration)
    configuration.update( kwargs )
    
    learning_rate = configuration["learning_rate"]
    momentum = collections.defaultdict( int )
    
    def calculate_dW( layer_index, dX ):
        dW = -learning_rate * dX + momentum_factor * momentum[ layer_index ]
        momentum[ layer_index ] = dW 
        return dW
    #end
    
    return backpropagation_foundation( network, trainingset, testset, cost_function, calculate_dW, **configuration  )
#end



def vanilla(network, trainingset, testset, cost_function, **kwargs ):
    configuration = dict(default_configuration)
    configuration.update( kwargs )
    
    learning_rate = configuration["learning_rate"]
    def calculate_dW( layer_index, dX ):
        return -learning_rate * dX
    #end
    
    return backpropagation_foundation( network, trainingset, testset, cost_function, calculate_dW, **configuration  )
#end



# ---- adapters in the tool's class form (ours, not nimblenet's) -------------------------------------------------
#
# nimblenet keeps one (n_in + 1, n_out) matrix per layer whose row 0 holds the biases, used as
# X @ W[1:] + W[0:1]: the tool's bias-row layout, a list [T0, T1, ...]. Its backpropagation averages over the
# batch (dX = delta @ add_bias(a) / batch_size) and updates network.weights itself, layer by layer, through the
# learning algorithm's calculate_dW. It has no L2 term.

HIDDEN = sigmoid_function  # any of sigmoid_function, tanh_function, ReLU_function, LReLU_function (slope 0.01)
OUTPUT, COST = softmax_function, softmax_neg_loss  # or sigmoid_function with sum_squared_error

TOOL_NAMES = {sigmoid_function: "sigmoid", tanh_function: "tanh", ReLU_function: "relu", LReLU_function: "leaky_relu",
              linear_function: "identity", softmax_function: "softmax", softmax_neg_loss: "cross_entropy",
              sum_squared_error: "mse", binary_cross_entropy_cost: "bce"}


def _capture(network, trainingset, testset, cost_function, calculate_dW, **configuration):
    return calculate_dW  # stands in for backpropagation_foundation while a learning algorithm builds its closure


def _capture(network, trainingset, testset, cost_function, calculate_dW, **configuration):
    return calculate_dW  # stands in for backpropagation_foundation while a learning algorithm builds its closure


class Net:
    """nimblenet's plain backpropagation (learning_algorithms.backpropagation.vanilla), one batch per step.

    SETTINGS = dict(activation="sigmoid", loss="cross_entropy", output="softmax", reduction="mean", loss_scale=1,
                    l2=0, bias=True, targets="onehot", layout="bias-row", optimizer="sgd", momentum=0,
                    lr_schedule=None)
    (activation: TOOL_NAMES[HIDDEN]; with OUTPUT, COST = sigmoid_function, sum_squared_error: loss="mse",
    output="sigmoid".)

    A nimblenet learning algorithm builds its optimizer state (a momentum, or Adam's m and v) once and then runs
    all its epochs inside one backpropagation_foundation call. So that this state lives as long as the network
    here too, __init__ runs the algorithm once with backpropagation_foundation swapped for _capture, to keep its
    calculate_dW; each step then runs nimblenet's own backpropagation_foundation for one epoch of one batch
    (batch_size=0: the whole batch) with that calculate_dW. The learning rate is fixed when training starts, as in
    nimblenet, so step() refuses another (no lr schedule). The loss returned is nimblenet's own cost function on
    the batch before the update: the batch mean of -sum_k Y log p (softmax_neg_loss) or of 1/2 sum_k (a - Y)^2
    (sum_squared_error); softmax_neg_loss clips the probabilities to [1e-11, 1 - 1e-11] first.
    """

    def __init__(self, params, lr=0.03):
        self.lr = lr
        sizes = [params[0].shape[0] - 1] + [T.shape[1] for T in params]
        layers = [(n, HIDDEN) for n in sizes[1:-1]] + [(sizes[-1], OUTPUT)]
        self.network = NeuralNet({"n_inputs": sizes[0], "layers": layers})  # draws its own init from np.random
        self.network.weights = [np.array(T, dtype=np.float64) for T in params]  # replaced by the tool's
        global backpropagation_foundation
        foundation, backpropagation_foundation = backpropagation_foundation, _capture
        try:
            self.calculate_dW = self.algorithm(lr)
        finally:
            backpropagation_foundation = foundation

    def algorithm(self, lr):
        return vanilla(self.network, None, None, COST, learning_rate=lr)

    def step(self, X, Y, lr):
        if lr != self.lr:
            raise ValueError(f"nimblenet fixes its learning rate when training starts ({self.lr}); got {lr}")
        batch = [Instance(x, y) for x, y in zip(X, Y)]
        loss = COST(self.network.update(X), Y)
        with open(os.devnull, "w") as quiet, contextlib.redirect_stdout(quiet):  # its closing summary
            backpropagation_foundation(self.network, batch, batch, COST, self.calculate_dW, ERROR_LIMIT=-1.0,
                                       max_iterations=1, batch_size=0)
        return loss

    @property
    def params(self):
        return self.network.weights


class NetMomentum(Net):
    """nimblenet's classical_momentum: dW = -lr dX + momentum dW_prev, then weights += dW.

    With a constant lr this is torch's SGD with momentum (buffer b = momentum b + g, w -= lr b, so dW = -lr b).
    SETTINGS as Net's, with optimizer="sgd", momentum=<momentum>, dampening=0, nesterov=False.
    """

    def __init__(self, params, lr=0.03, momentum=0.9):
        self.momentum = momentum
        super().__init__(params, lr)

    def algorithm(self, lr):
        return classical_momentum(self.network, None, None, COST, momentum_factor=self.momentum, learning_rate=lr)


class NetAdam(Net):
    """nimblenet's Adam, kept as nimblenet has it: without bias correction, so not torch's Adam.

    SETTINGS as Net's, with optimizer="adam", betas=(beta1, beta2), eps=eps, weight_decay=0.
    Against torch.optim.Adam the first update is (1 - beta1) / sqrt(1 - beta2) = 3.16 times torch's (default
    betas), and the ratio tends to 1 as beta^t vanishes. The line that departs is the return of Adam's calculate_dW,
    -learning_rate * m / (np.sqrt(v) + epsilon), which divides neither m by 1 - beta1^t nor v by 1 - beta2^t.
    """

    def __init__(self, params, lr=0.001, betas=(0.9, 0.999), eps=1e-8):
        self.betas, self.eps = betas, eps
        super().__init__(params, lr)

    def algorithm(self, lr):
        return Adam(self.network, None, None, COST, beta1=self.betas[0], beta2=self.betas[1], epsilon=self.eps,
                    learning_rate=lr)
